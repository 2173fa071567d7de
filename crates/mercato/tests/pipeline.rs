//! The CI/CD pipeline (`.github/`), checked here: every workflow passes
//! actionlint and the rules a reviewer would hold it to (actions pinned
//! to a commit, least-privilege permissions, superseded CI runs
//! cancelled, every script it calls present); the one map from changed
//! paths to images (`scripts/affected-images`) picks what it should; and
//! the smoke test the deploys run (`scripts/smoke`) passes on a working
//! shop and fails on a broken one. `scripts/deploy swarm` itself is tested
//! live in the Swarm test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::{path::PathBuf, process::Command};

use serde_json::Value;
use testkit::{Backend, shop::product};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn workflows() -> Vec<(String, Value)> {
    let dir = repo().join(".github/workflows");
    let mut found: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, serde_saphyr::from_str(&text).unwrap())
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[test]
fn every_workflow_passes_actionlint() {
    let actionlint = testkit::installed("MERCATO_TEST_ACTIONLINT", "actionlint");
    let output = Command::new(actionlint)
        .arg("-no-color")
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_workflows_are_pinned_least_privileged_and_call_scripts_that_exist() {
    let found = workflows();
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ci.yml",
            "deploy-environment.yml",
            "deploy.yml",
            "images.yml"
        ]
    );
    for (name, workflow) in &found {
        // Read-only unless a job asks for more.
        assert_eq!(
            workflow["permissions"],
            serde_json::json!({"contents": "read"}),
            "{name}"
        );
        for (job_name, job) in workflow["jobs"].as_object().unwrap() {
            for step in job["steps"].as_array().into_iter().flatten() {
                if let Some(uses) = step["uses"].as_str() {
                    // Third-party code runs at a reviewed commit, not a
                    // movable tag.
                    let (_, at) = uses.split_once('@').unwrap();
                    assert!(
                        at.len() == 40 && at.chars().all(|c| c.is_ascii_hexdigit()),
                        "{name} {job_name}: {uses}"
                    );
                }
                if let Some(run) = step["run"].as_str() {
                    for word in run.split_whitespace() {
                        let word = word.trim_matches(|c| c == '"' || c == '\'');
                        if let Some(script) = word.strip_prefix("scripts/") {
                            let path = repo().join("scripts").join(script);
                            assert!(path.is_file(), "{name} {job_name}: {word}");
                        }
                    }
                }
            }
            if let Some(called) = job["uses"].as_str() {
                let path = repo().join(called.trim_start_matches("./"));
                assert!(path.is_file(), "{name} {job_name}: {called}");
            }
        }
    }
    let ci = &found[0].1;
    assert_eq!(ci["concurrency"]["cancel-in-progress"], true);
    let ci_jobs: Vec<&String> = ci["jobs"].as_object().unwrap().keys().collect();
    assert_eq!(ci_jobs, ["lint", "supply-chain", "test", "workflows"]);
    assert_eq!(
        ci["jobs"]["test"]["services"]["postgres"]["image"],
        "postgres:16"
    );
    // The images workflow builds what scripts/affected-images says, and
    // production is a protected environment after staging.
    let images = &found[3].1;
    assert_eq!(
        images["jobs"]["image"]["strategy"]["matrix"]["image"],
        "${{ fromJSON(needs.changes.outputs.images) }}"
    );
    let deploy = &found[2].1;
    assert_eq!(deploy["jobs"]["production"]["needs"], "staging");
    assert_eq!(
        deploy["jobs"]["production"]["with"]["environment"],
        "production"
    );
    let environment = &found[1].1;
    assert_eq!(
        environment["jobs"]["deploy"]["environment"]["name"],
        "${{ inputs.environment }}"
    );
    let dependabot: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo().join(".github/dependabot.yml")).unwrap(),
    )
    .unwrap();
    let ecosystems: Vec<&str> = dependabot["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["package-ecosystem"].as_str().unwrap())
        .collect();
    assert_eq!(
        ecosystems,
        ["cargo", "github-actions", "docker-compose", "docker"]
    );
}

fn affected(paths: &[&str]) -> Vec<String> {
    let output = Command::new(repo().join("scripts/affected-images"))
        .arg("--paths")
        .args(paths)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_change_rebuilds_the_images_built_from_what_it_touches() {
    let every = [
        "all",
        "users",
        "catalog",
        "pricing",
        "cart",
        "orders",
        "payments",
        "notifications",
        "web",
    ];
    // One service's crate: that service and the all-in-one image.
    assert_eq!(affected(&["crates/catalog/src/lib.rs"]), ["all", "catalog"]);
    assert_eq!(affected(&["crates/web/static/app.css"]), ["all", "web"]);
    assert_eq!(
        affected(&["crates/cart/migrations/1.sql", "crates/users/src/http.rs"]),
        ["all", "users", "cart"]
    );
    // What every service is built on: every image.
    let mut with_autoscaler = every.to_vec();
    with_autoscaler.push("autoscaler");
    assert_eq!(affected(&["crates/platform/src/db.rs"]), with_autoscaler);
    assert_eq!(affected(&["Cargo.lock"]), with_autoscaler);
    assert_eq!(affected(&["crates/runtime/src/lib.rs"]), every);
    assert_eq!(affected(&["crates/mercato/src/main.rs"]), every);
    assert_eq!(affected(&["config/base.toml"]), every);
    assert_eq!(affected(&["deploy/docker/Dockerfile"]), every);
    assert_eq!(
        affected(&["crates/autoscaler/src/swarm.rs"]),
        ["autoscaler"]
    );
    assert_eq!(
        affected(&["deploy/docker/Dockerfile.autoscaler"]),
        ["autoscaler"]
    );
    // Tests, dev-only crates, documents and run-time files: no image.
    for nothing in [
        "crates/catalog/tests/products.rs",
        "crates/mercato/tests/swarm.rs",
        "crates/testkit/src/app.rs",
        "crates/loadtest/src/main.rs",
        "README.md",
        "docs/adr/0001.md",
        "deploy/swarm/stack.yml",
        ".github/workflows/ci.yml",
    ] {
        assert_eq!(affected(&[nothing]), Vec::<String>::new(), "{nothing}");
    }
    // A service crate that depended on another would rebuild with it: the
    // map reads the crates' own dependencies, so it cannot drift.
    let manifest = std::fs::read_to_string(repo().join("crates/orders/Cargo.toml")).unwrap();
    assert!(!manifest.contains("catalog.workspace"), "update the cases");
}

/// `scripts/smoke URL`, off the runtime's threads (the shop under test
/// answers on them).
async fn smoke(url: &str) -> std::process::Output {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        Command::new(repo().join("scripts/smoke"))
            .args([&url, "--attempts", "1"])
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smoke_test_passes_on_a_working_shop_and_fails_on_a_broken_one() {
    let shop = testkit::spawn(Backend::Sqlite).await;
    product(&shop, "smoked", &[(1500, 3)]).await;
    let passed = smoke(&shop.base).await;
    assert!(
        passed.status.success(),
        "{}",
        String::from_utf8_lossy(&passed.stderr)
    );
    assert!(String::from_utf8_lossy(&passed.stdout).contains("passes"));

    // A release whose carts default to a currency the shop does not price
    // in: every service is ready, but no guest can fill a cart.
    let broken = testkit::spawn_with(Backend::Sqlite, |cfg| {
        cfg.cart.default_currency = "EUR".into();
    })
    .await;
    product(&broken, "smoked", &[(1500, 3)]).await;
    let failed = smoke(&broken.base).await;
    let report = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{report}");
    assert!(report.contains("FAIL POST /api/v1/carts/"), "{report}");

    // Nothing listens: it fails at the first step.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let failed = smoke(&format!("http://127.0.0.1:{port}")).await;
    let report = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{report}");
    assert!(report.contains("FAIL GET /health/ready: 000"), "{report}");
}
