//! The load generator drives a real shop through every scenario, in both
//! models, and its records, report and chart say what happened.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::process::Command;

use serde_json::Value;
use testkit::{Backend, TestApp, on_both_backends, shop, spawn};

on_both_backends!(every_scenario_runs_against_a_real_shop);

const SCENARIOS: &[&str] = &[
    "floor", "detail", "list", "search", "browse", "cart", "checkout", "mix",
];

fn loadtest(app: &TestApp, out: &std::path::Path, extra: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_mercato-loadtest"))
        .args([
            "run",
            "--base",
            &app.base,
            "--duration",
            "1.5",
            "--warmup",
            "0.2",
        ])
        .args(["--setup", "test", "--out"])
        .arg(out)
        .args(["--watch", &format!("self={}", std::process::id())])
        .env("MERCATO_LOADTEST_ADMIN_EMAIL", testkit::ADMIN_EMAIL)
        .env("MERCATO_LOADTEST_ADMIN_PASSWORD", testkit::ADMIN_PASSWORD)
        .args(extra)
        .output()
        .expect("mercato-loadtest runs");
    assert!(
        output.status.success(),
        "{extra:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn every_scenario_runs_against_a_real_shop(backend: Backend) {
    let app = spawn(backend).await;
    for i in 0..5 {
        shop::product(
            &app,
            &format!("item-{i}"),
            &[(1000 + i * 100, 3), (2000, 0)],
        )
        .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.jsonl");
    for scenario in SCENARIOS {
        loadtest(&app, &out, &["--scenario", scenario, "--concurrency", "4"]);
    }
    loadtest(&app, &out, &["--scenario", "checkout", "--rate", "10"]);

    let records: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), SCENARIOS.len() + 1);
    for record in &records {
        let total = &record["total"];
        assert!(total["count"].as_u64().unwrap() > 0, "{record}");
        // Every answer was a success: the scenarios ask only what a shopper may.
        let statuses = total["statuses"].as_object().unwrap();
        assert!(
            statuses.keys().all(|s| s.starts_with('2')),
            "{}: {statuses:?}",
            record["scenario"]
        );
        assert!(total["p50_ms"].as_f64().unwrap() <= total["p99_ms"].as_f64().unwrap());
        assert_eq!(record["server"][0]["name"], "self");
        assert!(record["server"][0]["peak_rss_mib"].as_f64().unwrap() > 1.0);
    }
    let route = |scenario: &str, name: &str| -> u64 {
        let record = records.iter().find(|r| r["scenario"] == scenario).unwrap();
        record["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == name)
            .map_or(0, |r| r[1]["count"].as_u64().unwrap())
    };
    assert!(route("cart", "POST /carts/{id}/items") > 0);
    assert!(route("checkout", "=checkout to paid") > 0);
    assert!(route("checkout", "POST /payments/{id}/confirm") > 0);
    assert!(route("search", "GET /products?q=") > 0);
    // The checkouts were real: what they paid for left the stock. Four
    // runs bought (cart, checkout twice, mix), each first topping up every
    // variant by 10,000,000; only paid orders take units off hand.
    let admin = app.admin_token().await;
    let mut on_hand = 0;
    for i in 0..5 {
        for v in 0..2 {
            on_hand += shop::stock(&app, &admin, &format!("ITEM-{i}-{v}")).await.0;
        }
    }
    let sold = 5 * 3 + 4 * 10 * 10_000_000 - on_hand;
    let paid: u64 = records
        .iter()
        .flat_map(|r| r["routes"].as_array().unwrap().iter())
        .filter(|r| r[0] == "=checkout to paid")
        .map(|r| r[1]["count"].as_u64().unwrap())
        .sum();
    assert!(
        paid > 0 && sold >= i64::try_from(paid).unwrap(),
        "sold {sold}, paid {paid}"
    );

    let report = Command::new(env!("CARGO_BIN_EXE_mercato-loadtest"))
        .arg("report")
        .arg(&out)
        .output()
        .unwrap();
    let report = String::from_utf8(report.stdout).unwrap();
    assert!(report.contains("### test"), "{report}");
    assert!(
        report.contains("| floor (cheapest route) | c=4 |"),
        "{report}"
    );
    let svg = dir.path().join("checkout.svg");
    let chart = Command::new(env!("CARGO_BIN_EXE_mercato-loadtest"))
        .args(["chart"])
        .arg(&out)
        .args(["--scenario", "checkout", "--svg"])
        .arg(&svg)
        .status()
        .unwrap();
    assert!(chart.success());
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "{svg}"
    );
}
