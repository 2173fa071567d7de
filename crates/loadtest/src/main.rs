//! `mercato-loadtest`: drives a running Mercato like shoppers do and reports
//! what it cost.
//!
//! `run` measures one scenario in a closed model (`--concurrency`
//! shoppers, each starting again as soon as it is done) or an open model
//! (`--rate` arrivals per second, whatever the server's pace), after a
//! warm-up, and appends one JSON line to `--out`; `report` turns those lines
//! into Markdown tables and `chart` into SVG latency/throughput charts.

mod chart;
mod procfs;
mod recorder;
mod report;
mod scenario;
mod shop;

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::{
    procfs::Watched,
    recorder::Recorder,
    report::{Machine, Model, RunRecord},
    scenario::{Scenario, Shopper},
};

#[derive(Parser)]
#[command(
    version,
    about = "Load generator for Mercato: shopper scenarios, reports, charts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure one scenario and append the result to `--out`.
    Run(RunArgs),
    /// Print Markdown tables of every run in a results file.
    Report {
        /// JSON lines written by `run`.
        results: PathBuf,
    },
    /// Draw latency against throughput (open-model runs) as SVG.
    Chart {
        /// JSON lines written by `run`.
        results: PathBuf,
        /// `browse` or `checkout` (or any scenario measured at several rates).
        #[arg(long, value_enum)]
        scenario: Scenario,
        /// The SVG file to write.
        #[arg(long)]
        svg: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The shop's base URL (a server, or the gateway).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Closed model: this many shoppers at once.
    #[arg(long, default_value_t = 64, conflicts_with = "rate")]
    concurrency: usize,
    /// Open model: iterations started per second, on schedule.
    #[arg(long)]
    rate: Option<f64>,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seed for the queries and the shoppers' choices.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Products to learn from the catalog.
    #[arg(long, default_value_t = 10_000)]
    products: usize,
    /// An admin, to top up the stock carts and checkouts buy.
    #[arg(long, env = "MERCATO_LOADTEST_ADMIN_EMAIL")]
    admin_email: Option<String>,
    #[arg(long, env = "MERCATO_LOADTEST_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// With an admin: check out without a code, and without creating the
    /// shipping option and tax rate (to measure what pricing costs).
    #[arg(long)]
    unpriced: bool,
    /// Server processes to account for, as `name=pid` (repeat).
    #[arg(long = "watch")]
    watch: Vec<Watched>,
    /// What is being measured, e.g. "all-in-one, SQLite".
    #[arg(long, default_value = "server")]
    setup: String,
    /// Results file (JSON lines) to append to.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Most iterations in flight in the open model; arrivals beyond are
    /// counted as dropped.
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// The cheapest route, for `floor` (through a gateway, one it routes).
    #[arg(long, default_value = "/health/live")]
    floor_path: String,
    /// Open model: requests on the wire at once (as many connections).
    /// Arrivals beyond wait their turn in the client, and that wait counts
    /// in their latency, so a server falling behind shows as latency.
    #[arg(long, default_value_t = 256)]
    connections: usize,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let record = runtime.block_on(run(&args))?;
            print!("{}", report::markdown_of_run(&record));
            if let Some(out) = &args.out {
                report::append(out, &record)?;
            }
            Ok(())
        }
        Command::Report { results } => {
            print!("{}", report::markdown(&report::load(&results)?));
            Ok(())
        }
        Command::Chart {
            results,
            scenario,
            svg,
        } => {
            let records = report::load(&results)?;
            std::fs::write(&svg, chart::svg(&records, scenario))
                .with_context(|| format!("writing {}", svg.display()))
        }
    }
}

async fn run(args: &RunArgs) -> anyhow::Result<RunRecord> {
    anyhow::ensure!(args.duration > 0.0, "--duration must be positive");
    let connections = if args.rate.is_some() {
        args.connections
    } else {
        args.concurrency
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let base: Arc<str> = args.base.trim_end_matches('/').into();
    let admin = args
        .admin_email
        .as_deref()
        .zip(args.admin_password.as_deref());
    let buys = matches!(
        args.scenario,
        Scenario::Cart | Scenario::Checkout | Scenario::Mix | Scenario::PageCart
    );
    // Stock is only topped up for scenarios that buy: a top-up is a catalog
    // write, which would start a browsing run with a cold read cache.
    let shop = Arc::new(if args.scenario == Scenario::Floor {
        shop::Shop {
            floor_path: args.floor_path.clone(),
            ..shop::Shop::default()
        }
    } else {
        let admin = admin.filter(|_| buys);
        shop::discover(
            &client,
            &base,
            args.products,
            args.seed,
            admin,
            !args.unpriced,
        )
        .await?
    });
    if buys {
        anyhow::ensure!(
            !shop.buyable.is_empty(),
            "nothing in stock to buy (give --admin-email and --admin-password to top up)"
        );
    }

    let warmup = Duration::from_secs_f64(args.warmup.max(0.0));
    let window = Duration::from_secs_f64(args.duration);
    let begin = Instant::now();
    let from = begin + warmup;
    let until = from + window;
    let recorder = Arc::new(Recorder::new(from, until));
    let machine_before = procfs::load_average();

    // Usage is read at the edges of the measured window, not of the warm-up.
    let sampler = {
        let watch = args.watch.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(from.into()).await;
            let before = cpu_of(&watch);
            let own_before = procfs::cpu_seconds(std::process::id());
            tokio::time::sleep_until(until.into()).await;
            let after = cpu_of(&watch);
            let own_after = procfs::cpu_seconds(std::process::id());
            let own = own_after.zip(own_before).map(|(a, b)| a - b);
            (before, after, own)
        })
    };

    let turns = Arc::new(tokio::sync::Semaphore::new(connections.max(1)));
    let shopper = |n: u64| Shopper {
        turns: turns.clone(),
        client: client.clone(),
        base: base.clone(),
        shop: shop.clone(),
        recorder: recorder.clone(),
        rng: fastrand::Rng::with_seed(args.seed.wrapping_mul(1_000_003).wrapping_add(n)),
        page_session: None,
    };
    let scenario = args.scenario;
    let dropped = Arc::new(AtomicU64::new(0));
    let model = match args.rate {
        None => {
            let workers: Vec<_> = (0..args.concurrency)
                .map(|n| {
                    let mut shopper = shopper(n as u64);
                    tokio::spawn(async move {
                        while Instant::now() < until {
                            shopper.run(scenario, Instant::now()).await;
                        }
                    })
                })
                .collect();
            for worker in workers {
                worker.await?;
            }
            Model::Closed {
                concurrency: args.concurrency,
            }
        }
        Some(rate) => {
            anyhow::ensure!(rate > 0.0, "--rate must be positive");
            let interval = Duration::from_secs_f64(1.0 / rate);
            let in_flight = Arc::new(AtomicUsize::new(0));
            let mut tasks = tokio::task::JoinSet::new();
            let mut next = begin;
            let mut n = 0u64;
            while next < until {
                tokio::time::sleep_until(next.into()).await;
                // Catch up on every arrival that is due: the timer is coarser
                // than the interval at high rates.
                while next <= Instant::now() && next < until {
                    if in_flight.load(Ordering::Relaxed) >= args.max_in_flight {
                        if recorder.measures(next) {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        in_flight.fetch_add(1, Ordering::Relaxed);
                        let mut shopper = shopper(n);
                        let in_flight = in_flight.clone();
                        let scheduled = next;
                        tasks.spawn(async move {
                            shopper.run(scenario, scheduled).await;
                            in_flight.fetch_sub(1, Ordering::Relaxed);
                        });
                    }
                    n += 1;
                    next += interval;
                }
                while tasks.try_join_next().is_some() {}
            }
            while tasks.join_next().await.is_some() {}
            Model::Open { rate }
        }
    };
    let (before, after, own_cpu) = sampler.await?;
    let (total, routes) = recorder.summarise(window);
    let server: Vec<procfs::Usage> = args
        .watch
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(w, (b, a))| procfs::Usage {
            name: w.name.clone(),
            cpu_seconds: a.zip(*b).map_or(0.0, |(a, b)| a - b),
            peak_rss_mib: w.memory_mib().unwrap_or(0.0),
            tree: w.tree,
        })
        .collect();
    Ok(RunRecord {
        setup: args.setup.clone(),
        scenario,
        model,
        at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        seconds: window.as_secs_f64(),
        warmup_seconds: warmup.as_secs_f64(),
        seed: args.seed,
        total,
        routes,
        dropped: dropped.load(Ordering::Relaxed),
        server,
        loadgen_cpu_seconds: own_cpu.unwrap_or(0.0),
        machine: Machine {
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            load_before: machine_before.unwrap_or(0.0),
            load_after: procfs::load_average().unwrap_or(0.0),
        },
    })
}

fn cpu_of(watch: &[Watched]) -> Vec<Option<f64>> {
    watch.iter().map(Watched::cpu_seconds).collect()
}
