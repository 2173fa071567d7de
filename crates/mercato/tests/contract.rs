//! The OpenAPI document is the contract client generators and contract
//! tests trust, so the server is held to it: schemathesis (PyPI) runs every
//! one of its checks against the all-in-one server, on SQLite with the
//! in-process bus and on PostgreSQL with NATS, and any finding fails the
//! build. The checks left out for some operations are in
//! `contract/schemathesis.toml`, each with its reason.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::{path::PathBuf, time::Duration};

use testkit::{Backend, TestApp, nats::NatsServer, spawn_with};

/// Generated cases per operation: with the stateful phase this is about a
/// minute per backend on the test machines. `MERCATO_TEST_SCHEMATHESIS_EXAMPLES`
/// and `MERCATO_TEST_SCHEMATHESIS_SEED` run a deeper or another search.
const EXAMPLES_PER_OPERATION: &str = "50";
/// A fixed seed: the same code gets the same cases.
const SEED: &str = "20261201";

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_sqlite() {
    let app = shop(Backend::Sqlite, None).await;
    schemathesis(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_postgres_with_nats() {
    let nats = NatsServer::start();
    let app = shop(Backend::Postgres, Some(nats.url())).await;
    schemathesis(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_not_blank_pattern_in_the_document_is_the_platforms() {
    let app = shop(Backend::Sqlite, None).await;
    let doc = app.get("/openapi.json", None).await.body;
    let mut patterns = Vec::new();
    collect_patterns(&doc, &mut patterns);
    let spelled_out: Vec<&String> = patterns.iter().filter(|p| p.contains("u3000")).collect();
    assert!(spelled_out.len() > 10, "{patterns:?}");
    for pattern in spelled_out {
        assert!(
            pattern.contains(
                platform::http::schema::NOT_BLANK
                    .trim_start_matches("[^")
                    .trim_end_matches(']')
            ),
            "a white-space class drifted from NOT_BLANK: {pattern}"
        );
    }
}

fn collect_patterns(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(p)) = map.get("pattern") {
                into.push(p.clone());
            }
            map.values().for_each(|v| collect_patterns(v, into));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_patterns(v, into)),
        _ => {}
    }
}

/// The all-in-one shop with some demo products, so reads find data.
async fn shop(backend: Backend, nats: Option<String>) -> TestApp {
    spawn_with(backend, |cfg| {
        cfg.catalog.demo_products = 20;
        cfg.eventbus.nats_url = nats;
    })
    .await
}

fn schemathesis_binary() -> PathBuf {
    std::env::var_os("MERCATO_TEST_SCHEMATHESIS")
        .map_or_else(|| PathBuf::from("schemathesis"), PathBuf::from)
}

async fn schemathesis(app: &TestApp) {
    let admin = app.admin_token().await;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract/schemathesis.toml");
    // Its example database and reports go to a folder of this test's own.
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("schemathesis.log");
    let mut child = std::process::Command::new(schemathesis_binary())
        .current_dir(work.path())
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/openapi.json", app.base))
        .args(["--url", &app.base])
        .args(["--header", &format!("Authorization: Bearer {admin}")])
        .args([
            "--max-examples",
            &setting("MERCATO_TEST_SCHEMATHESIS_EXAMPLES", EXAMPLES_PER_OPERATION),
        ])
        .args(["--seed", &setting("MERCATO_TEST_SCHEMATHESIS_SEED", SEED)])
        // One worker: CPython 3.11 can fail parsing ASTs in two threads at
        // once ("AST constructor recursion depth mismatch"), which
        // schemathesis reports as an error of the run.
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .arg("--no-color")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "schemathesis could not run ({e}); scripts/test installs it and sets MERCATO_TEST_SCHEMATHESIS"
            )
        });
    // Polled, so that this runtime keeps serving the app meanwhile.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "schemathesis ran over 10 minutes:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let report = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "schemathesis found something:\n{report}");
    // It ran cases, and every one passed.
    let summary = report
        .lines()
        .find(|l| l.contains(" generated, "))
        .unwrap_or_else(|| panic!("no summary in:\n{report}"));
    let counts: Vec<u64> = summary
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        counts.len() >= 2 && counts[0] > 1000 && counts[0] == counts[1],
        "{summary}"
    );
    println!("{summary}");
}
