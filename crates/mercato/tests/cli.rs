//! The `mercato` binary as an operator uses it: flags, configuration
//! errors, the admin command beside a running server, graceful shutdown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes,
    reason = "a failed step fails the test loudly, in helpers too; child processes are reaped by their guards"
)]

mod common;

use std::{
    io::Write as _,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use common::{free_port, mercato_command};
use serde_json::json;
use testkit::{Backend, on_both_backends};

const BIN: &str = env!("CARGO_BIN_EXE_mercato");

/// A command with a private data folder (SQLite) or schema (PostgreSQL),
/// cheap argon2, and no inherited MERCATO settings.
fn mercato(backend: Backend, data: &Path, schema_prefix: &str) -> Command {
    let mut cmd = mercato_command();
    cmd.env("MERCATO__DATABASE__DATA_DIR", data)
        .env("MERCATO__USERS__ARGON2_MEMORY_KIB", "256")
        .env("MERCATO__USERS__ARGON2_ITERATIONS", "1")
        .env("MERCATO__TELEMETRY__FORMAT", "json")
        .env("MERCATO__CATALOG__DEMO_PRODUCTS", "0");
    if backend == Backend::Postgres {
        cmd.env("MERCATO__DATABASE__URL", testkit::postgres_url())
            .env("MERCATO__DATABASE__SCHEMA_PREFIX", schema_prefix);
    }
    cmd
}

fn create_admin(mut cmd: Command, email: &str, password: &str) -> Output {
    let mut child = cmd
        .args([
            "users",
            "create-admin",
            "--email",
            email,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(mut cmd: Command) -> Self {
        let port = free_port();
        let child = cmd
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = reqwest::get(format!("{base}/health/ready")).await
                && r.status() == 200
            {
                return Self { child, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not become ready");
    }

    fn terminate(mut self) -> Output {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let started = Instant::now();
        loop {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.wait_with_output().unwrap()
    }
}

on_both_backends!(
    create_admin_works_beside_a_running_server,
    sigterm_drains_and_exits_zero,
    the_all_in_one_server_opens_with_a_demo_catalog_and_seed_adds_more,
);

async fn the_all_in_one_server_opens_with_a_demo_catalog_and_seed_adds_more(backend: Backend) {
    let data = tempfile::tempdir().unwrap();
    let prefix = format!("d{}_", uuid::Uuid::new_v4().simple());
    let mut cmd = mercato(backend, data.path(), &prefix);
    cmd.env("MERCATO__CATALOG__DEMO_PRODUCTS", "25");
    let server = Server::start(cmd).await;
    let list = |base: String| async move {
        let body: serde_json::Value = reqwest::get(format!("{base}/api/v1/products?limit=100"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["items"].as_array().unwrap().clone()
    };
    let products = list(server.base.clone()).await;
    assert_eq!(products.len(), 25);
    assert!(
        products
            .iter()
            .all(|p| !p["variants"].as_array().unwrap().is_empty())
    );
    let categories: serde_json::Value = reqwest::get(format!("{}/api/v1/categories", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let categories = categories["items"].as_array().unwrap();
    assert!(categories.len() >= 10);
    assert!(
        categories.iter().any(|c| c["parent_id"].is_string()),
        "nested categories"
    );

    let out = mercato(backend, data.path(), &prefix)
        .args(["seed", "--products", "40"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("15 demo products created"));
    // The server learns of another process's writes to its catalog within
    // a moment (its read cache watches the database, see catalog::reads).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let count = list(server.base.clone()).await.len();
        if count == 40 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} products listed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.terminate();
}

async fn create_admin_works_beside_a_running_server(backend: Backend) {
    let data = tempfile::tempdir().unwrap();
    let prefix = format!("c{}_", uuid::Uuid::new_v4().simple());
    // Before any server has run: the command creates and migrates the data.
    let out = create_admin(
        mercato(backend, data.path(), &prefix),
        "first@example.com",
        "Quartz-Lantern-Orbit-9",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(mercato(backend, data.path(), &prefix)).await;

    let out = create_admin(
        mercato(backend, data.path(), &prefix),
        "Boss@Example.com",
        "Quartz-Lantern-Orbit-9",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let client = reqwest::Client::new();
    let first = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "first@example.com", "password": "Quartz-Lantern-Orbit-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let login = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "boss@example.com", "password": "Quartz-Lantern-Orbit-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let body: serde_json::Value = login.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin");

    // A second run for the same email fails with a clear message.
    let again = create_admin(
        mercato(backend, data.path(), &prefix),
        "boss@example.com",
        "Quartz-Lantern-Orbit-9",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    // A weak password is refused with the reason.
    let weak = create_admin(
        mercato(backend, data.path(), &prefix),
        "other@example.com",
        "password",
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    server.terminate();
}

async fn sigterm_drains_and_exits_zero(backend: Backend) {
    let data = tempfile::tempdir().unwrap();
    let prefix = format!("s{}_", uuid::Uuid::new_v4().simple());
    let server = Server::start(mercato(backend, data.path(), &prefix)).await;
    let out = server.terminate();
    assert!(
        out.status.success(),
        "exit: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = String::from_utf8_lossy(&out.stdout);
    assert!(logs.contains("stopped cleanly"), "{logs}");
    // Every line is one JSON object with the ECS basics.
    for line in logs.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            value["@timestamp"].is_string()
                && value["log.level"].is_string()
                && value["service.name"] == "mercato"
        );
    }
}

/// Metrics are on by default and can be turned off (the overhead figures
/// in BENCHMARKS.md compare the two): then `/metrics` is empty.
#[tokio::test]
async fn metrics_can_be_turned_off() {
    for (setting, kept) in [(None, true), (Some("false"), false)] {
        let data = tempfile::tempdir().unwrap();
        let mut cmd = mercato(Backend::Sqlite, data.path(), "");
        if let Some(value) = setting {
            cmd.env("MERCATO__TELEMETRY__METRICS", value);
        }
        let server = Server::start(cmd).await;
        reqwest::get(format!("{}/api/v1/products", server.base))
            .await
            .unwrap();
        let page = reqwest::get(format!("{}/metrics", server.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(page.contains("http_requests_total"), kept, "{page}");
        server.terminate();
    }
}

#[test]
fn the_data_folder_is_created_on_first_start_and_migrate_is_idempotent() {
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("nested/data");
    for _ in 0..2 {
        let out = mercato(Backend::Sqlite, &folder, "")
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("users: migrations applied"));
    }
    assert!(folder.join("users.db").exists());
}

#[test]
fn bad_settings_are_named_at_start() {
    let data = tempfile::tempdir().unwrap();
    let cases = [
        (
            "MERCATO__HTTP__REQUEST_TIMEOUT_SECS",
            "soon",
            "request_timeout_secs",
        ),
        (
            "MERCATO__HTTP__REQUEST_TIMEOUT_SECS",
            "0",
            "http.request_timeout_secs",
        ),
        ("MERCATO__USERS__COLOUR", "blue", "colour"),
        ("MERCATO__DATABASE__URL", "mysql://x", "database.url"),
        (
            "MERCATO__USERS__ADMIN_EMAIL",
            "root@example.com",
            "users.admin_password",
        ),
        ("MERCATO__TELEMETRY__FORMAT", "xml", "format"),
    ];
    for (key, value, named) in cases {
        let out = mercato(Backend::Sqlite, data.path(), "")
            .env(key, value)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{key}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
    }
    // The placeholders of deploy/compose/env.example are refused.
    for (key, value, named) in [
        (
            "MERCATO__CART__DATABASE_URL",
            "postgres://cart:change-me-cart@postgres:5432/cart",
            "cart.database_url holds a placeholder secret",
        ),
        (
            "MERCATO__DATABASE__URL",
            "postgres://mercato:Change-Me@db:5432/mercato",
            "database.url holds a placeholder secret",
        ),
    ] {
        let out = mercato(Backend::Sqlite, data.path(), "")
            .env(key, value)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{key}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{key}: {stderr}");
        assert!(
            !stderr.contains(value),
            "the secret itself is not printed: {stderr}"
        );
    }
    let out = mercato(Backend::Sqlite, data.path(), "")
        .env("MERCATO__USERS__ADMIN_EMAIL", "root@example.com")
        .env(
            "MERCATO__USERS__ADMIN_PASSWORD",
            "change-me-admin-passphrase",
        )
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("users.admin_password holds a placeholder secret")
    );
    let out = mercato(Backend::Sqlite, data.path(), "")
        .args(["serve", "--target", "warehouse"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown target `warehouse`"));
}

#[test]
fn a_config_file_sits_between_defaults_and_the_environment() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("mercato.toml");
    std::fs::write(&file, "[http]\nrequest_timeout_secs = 0\n").unwrap();
    let out = mercato(Backend::Sqlite, data.path(), "")
        .args(["--config"])
        .arg(&file)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.request_timeout_secs"));
    // The environment wins over the file.
    let out = mercato(Backend::Sqlite, data.path(), "")
        .env("MERCATO__HTTP__REQUEST_TIMEOUT_SECS", "5")
        .arg("--config")
        .arg(&file)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn help_explains_flags_and_environment() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "serve",
        "migrate",
        "seed",
        "users",
        "MERCATO__USERS__DATABASE_URL",
        "MERCATO_CONFIG",
        "--config",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["--target", "--listen", "MERCATO_TARGET"] {
        assert!(
            help.contains(needle),
            "serve --help lacks {needle}:\n{help}"
        );
    }
}
