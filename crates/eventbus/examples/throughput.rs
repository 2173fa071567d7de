//! End-to-end event throughput and delivery latency: from the commit of the
//! producing transaction to the consumer's committed, deduplicated effect.
//!
//! `cargo run --release -p eventbus --example throughput -- [in-process|nats] [sqlite|postgres] [events] [events/s]`
//! Without a rate the producers go flat out (throughput); with one they are
//! paced (latency below saturation).
//! NATS needs `MERCATO_BENCH_NATS_URL`; PostgreSQL `MERCATO_TEST_DATABASE_URL`
//! (scripts/bench-events sets both).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use eventbus::{Envelope, Handler, Subscription, inbox, outbox::Outbox};
use futures::future::BoxFuture;
use platform::db::Db;
use testkit::{
    Backend,
    events::{Happened, ScratchDb},
};
use tokio_util::sync::CancellationToken;

struct Timed {
    db: Db,
    latencies: Mutex<Vec<Duration>>,
}

impl Handler for Timed {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut tx = self.db.begin_write().await?;
            let fresh = inbox::claim(&mut tx, "bench-timed", event.id).await?;
            tx.commit().await?;
            if fresh {
                let latency = time::OffsetDateTime::now_utc() - event.occurred_at;
                self.latencies
                    .lock()
                    .unwrap()
                    .push(latency.try_into().unwrap_or_default());
            }
            Ok(())
        })
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bus_kind = args.get(1).map_or("in-process", String::as_str);
    let backend = match args.get(2).map_or("sqlite", String::as_str) {
        "postgres" => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let total: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let rate: f64 = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let writers = 8;

    let scratch = ScratchDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = testkit::test_config(backend, dir.path()).eventbus;
    if bus_kind == "nats" {
        cfg.nats_url =
            Some(std::env::var("MERCATO_BENCH_NATS_URL").expect("MERCATO_BENCH_NATS_URL"));
    }
    let bus = eventbus::bus::connect(&cfg).await.unwrap();
    let shutdown = CancellationToken::new();
    let handler = Arc::new(Timed {
        db: scratch.db.clone(),
        latencies: Mutex::new(Vec::with_capacity(total)),
    });
    let subscription = Subscription::new(
        "bench",
        &format!("timed{}", uuid::Uuid::new_v4().simple()),
        &["test.happened"],
    );
    bus.subscribe(subscription, handler.clone(), shutdown.clone())
        .await
        .unwrap();
    let outbox = Outbox::new(scratch.db.clone(), "bench");
    tokio::spawn(eventbus::outbox::run_relay(
        outbox.clone(),
        bus.clone(),
        cfg.clone(),
        shutdown.clone(),
    ));

    let started = Instant::now();
    let producers: Vec<_> = (0..writers)
        .map(|w| {
            let (outbox, db) = (outbox.clone(), scratch.db.clone());
            tokio::spawn(async move {
                let pace = (rate > 0.0).then(|| Duration::from_secs_f64(writers as f64 / rate));
                let began = Instant::now();
                for n in 0..(total / writers) as i64 {
                    if let Some(pace) = pace {
                        let due = began + pace * u32::try_from(n).unwrap_or(u32::MAX);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let event =
                        Envelope::new("bench", format!("w{w}-k{}", n % 50), &Happened { n })
                            .unwrap();
                    let mut tx = db.begin_write().await.unwrap();
                    outbox.append(&mut tx, &event).await.unwrap();
                    outbox.commit(tx).await.unwrap();
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    let produced_in = started.elapsed();
    let expected = (total / writers) * writers;
    while handler.latencies.lock().unwrap().len() < expected {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "events did not all arrive"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    shutdown.cancel();
    let mut latencies = handler.latencies.lock().unwrap().clone();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1000.0
    };
    println!(
        "| {bus_kind:<10} | {:<8} | {:>10} | {expected:>6} | {:>10.0} | {:>11.0} | {:>6.1} | {:>6.1} | {:>6.1} |",
        format!("{backend:?}").to_lowercase(),
        if rate > 0.0 {
            format!("{rate}/s")
        } else {
            "flat out".to_owned()
        },
        expected as f64 / produced_in.as_secs_f64(),
        expected as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
}
