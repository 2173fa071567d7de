//! Run records (one JSON line each) and their Markdown tables.

use std::{fmt::Write as _, io::Write as _, path::Path};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::{
    procfs::Usage,
    recorder::Summary,
    scenario::{CHECKOUT_TO_PAID, Scenario},
};

/// How load was offered.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Model {
    /// A fixed number of shoppers, each going again when done.
    Closed { concurrency: usize },
    /// Iterations started on schedule, `rate` per second.
    Open { rate: f64 },
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed { concurrency } => write!(f, "c={concurrency}"),
            Self::Open { rate } => write!(f, "{rate:.0}/s"),
        }
    }
}

/// The machine during the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub load_before: f64,
    pub load_after: f64,
}

/// Everything one `run` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub setup: String,
    #[serde(with = "scenario_name")]
    pub scenario: Scenario,
    pub model: Model,
    pub at: String,
    pub seconds: f64,
    pub warmup_seconds: f64,
    pub seed: u64,
    /// Every request of the run.
    pub total: Summary,
    /// Per route, plus derived timings (names starting with `=`).
    pub routes: Vec<(String, Summary)>,
    /// Open model: arrivals not started because too many were in flight.
    pub dropped: u64,
    pub server: Vec<Usage>,
    pub loadgen_cpu_seconds: f64,
    pub machine: Machine,
}

impl RunRecord {
    /// Server CPU milliseconds per request, over every watched process.
    pub fn cpu_ms_per_request(&self) -> Option<f64> {
        let cpu: f64 = self.server.iter().map(|u| u.cpu_seconds).sum();
        (self.total.count > 0 && !self.server.is_empty())
            .then(|| cpu * 1000.0 / self.total.count as f64)
    }

    /// The largest peak RSS of the watched single processes (Mercato's,
    /// Traefik's, ...), and their sum; a database's process tree is apart.
    pub fn rss_mib(&self) -> Option<(f64, f64)> {
        let single: Vec<f64> = self
            .server
            .iter()
            .filter(|u| !u.tree)
            .map(|u| u.peak_rss_mib)
            .collect();
        (!single.is_empty()).then(|| {
            let largest = single.iter().copied().fold(0.0, f64::max);
            (largest, single.iter().sum())
        })
    }

    /// The database server's memory (PSS of its process tree).
    pub fn database_mib(&self) -> Option<f64> {
        self.server
            .iter()
            .find(|u| u.tree && u.peak_rss_mib > 0.0)
            .map(|u| u.peak_rss_mib)
    }

    /// A route's summary.
    pub fn route(&self, name: &str) -> Option<&Summary> {
        self.routes.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// Completed checkouts (to `paid`), if any were attempted.
    pub fn checkouts(&self) -> Option<&Summary> {
        self.route(CHECKOUT_TO_PAID)
    }
}

mod scenario_name {
    use clap::ValueEnum as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    use crate::scenario::Scenario;

    pub fn serialize<S: Serializer>(s: &Scenario, ser: S) -> Result<S::Ok, S::Error> {
        let name = s.to_possible_value().map(|v| v.get_name().to_owned());
        ser.serialize_str(name.as_deref().unwrap_or("?"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Scenario, D::Error> {
        let name = String::deserialize(de)?;
        Scenario::from_str(&name, true).map_err(serde::de::Error::custom)
    }
}

/// Appends one record as a JSON line.
pub fn append(path: &Path, record: &RunRecord) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{}", serde_json::to_string(record)?)?;
    Ok(())
}

/// Every record in a results file.
pub fn load(path: &Path) -> anyhow::Result<Vec<RunRecord>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect()
}

fn statuses(s: &Summary) -> String {
    s.statuses
        .iter()
        .map(|(code, n)| {
            if *code == 0 {
                format!("no answer×{n}")
            } else {
                format!("{code}×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One run: the total and every route.
pub fn markdown_of_run(r: &RunRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} — {} ({}, {:.0} s after {:.0} s warm-up, seed {}, {} cores, load {:.1} → {:.1})\n",
        r.setup,
        scenario_label(r.scenario),
        r.model,
        r.seconds,
        r.warmup_seconds,
        r.seed,
        r.machine.cores,
        r.machine.load_before,
        r.machine.load_after
    );
    let _ = writeln!(
        out,
        "| route | req/s | p50 ms | p90 ms | p99 ms | max ms | statuses |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
    let all = "all".to_owned();
    let rows = r.routes.iter().map(|(n, s)| (n, s));
    for (name, s) in rows.chain([(&all, &r.total)]) {
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            s.per_second,
            s.p50_ms,
            s.p90_ms,
            s.p99_ms,
            s.max_ms,
            statuses(s)
        );
    }
    let _ = writeln!(out);
    for u in &r.server {
        let _ = writeln!(
            out,
            "- {}: {:.2} CPU s, peak RSS {:.0} MiB",
            u.name, u.cpu_seconds, u.peak_rss_mib
        );
    }
    if let Some(ms) = r.cpu_ms_per_request() {
        let _ = writeln!(
            out,
            "- server CPU: {:.0} ms per 1,000 requests",
            ms * 1000.0
        );
    }
    let _ = writeln!(
        out,
        "- load generator: {:.2} CPU s{}",
        r.loadgen_cpu_seconds,
        if r.dropped > 0 {
            format!(", {} arrivals dropped", r.dropped)
        } else {
            String::new()
        }
    );
    out
}

fn scenario_label(s: Scenario) -> &'static str {
    match s {
        Scenario::Floor => "floor (cheapest route)",
        Scenario::Detail => "product detail",
        Scenario::List => "list page of 20 (filters)",
        Scenario::Search => "search",
        Scenario::Browse => "browse (45 detail / 40 list / 15 search)",
        Scenario::Cart => "cart (open, 4 adds, change, read)",
        Scenario::Checkout => "checkout to paid",
        Scenario::Mix => "mix (80 browse / 15 cart / 5 checkout)",
        Scenario::PageHome => "storefront home page",
        Scenario::PageCategory => "storefront category page of 24",
        Scenario::PageProduct => "storefront product page",
        Scenario::PageCart => "storefront cart page (3 lines)",
    }
}

/// Every setup's runs as one table, each run also as a ratio to the setup's
/// HTTP floor (its closed-model `floor` run); then the key routes.
pub fn markdown(records: &[RunRecord]) -> String {
    let mut out = String::new();
    let mut setups: Vec<&str> = records.iter().map(|r| r.setup.as_str()).collect();
    setups.sort_unstable();
    setups.dedup();
    for setup in setups {
        let runs: Vec<&RunRecord> = records.iter().filter(|r| r.setup == setup).collect();
        let floor = runs
            .iter()
            .find(|r| r.scenario == Scenario::Floor && matches!(r.model, Model::Closed { .. }))
            .map(|r| r.total.per_second);
        let _ = writeln!(out, "\n### {setup}\n");
        let _ = writeln!(
            out,
            "| scenario | load | req/s | × floor | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU ms/1k req | peak RSS MiB (largest / all) | database MiB |"
        );
        let _ = writeln!(
            out,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in &runs {
            let s = &r.total;
            let ratio = floor.map_or("–".to_owned(), |f| format!("{:.2}", s.per_second / f));
            let cpu = r
                .cpu_ms_per_request()
                .map_or("–".to_owned(), |ms| format!("{:.0}", ms * 1000.0));
            let rss = r.rss_mib().map_or("–".to_owned(), |(max, sum)| {
                format!("{max:.0} / {sum:.0}")
            });
            let database = r
                .database_mib()
                .map_or("–".to_owned(), |m| format!("{m:.0}"));
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {ratio} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {cpu} | {rss} | {database} |",
                scenario_label(r.scenario),
                r.model,
                s.per_second,
                s.p50_ms,
                s.p90_ms,
                s.p99_ms,
                s.max_ms,
                s.errors() + r.dropped,
            );
        }
        let key: Vec<(&RunRecord, &str, &Summary)> = runs
            .iter()
            .filter(|r| matches!(r.model, Model::Closed { .. }))
            .flat_map(|r| {
                ["POST /carts/{id}/items", "POST /orders", CHECKOUT_TO_PAID]
                    .into_iter()
                    .filter_map(move |name| r.route(name).map(|s| (*r, name, s)))
            })
            .collect();
        if !key.is_empty() {
            let _ = writeln!(
                out,
                "\n| scenario | load | step | per s | p50 ms | p99 ms | max ms | failed |"
            );
            let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|");
            for (r, name, s) in key {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                    scenario_label(r.scenario),
                    r.model,
                    name.trim_start_matches('='),
                    s.per_second,
                    s.p50_ms,
                    s.p99_ms,
                    s.max_ms,
                    s.errors()
                );
            }
        }
        if let Some(r) = runs.first() {
            let _ = writeln!(
                out,
                "\n{} cores; load average {:.1} before the first run.",
                r.machine.cores, r.machine.load_before
            );
        }
    }
    out
}
