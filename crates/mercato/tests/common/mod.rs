//! Helpers shared by the tests that run `mercato` as separate processes
//! (each test binary uses a part of them).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "each test binary uses only part of the shared helpers; a failed step fails the test loudly, in helpers too"
)]

pub mod compose;
pub mod processes;
pub mod swarm;

use std::{
    process::Command,
    time::{Duration, Instant},
};

pub use testkit::free_port;

/// The built `mercato` binary, without the `MERCATO__*` settings of the
/// environment the tests run in.
pub fn mercato_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mercato"));
    for (key, _) in std::env::vars() {
        if key.starts_with("MERCATO__") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Waits until `base/health/ready` answers 200.
pub async fn wait_ready(base: &str) {
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/health/ready")).await
            && r.status() == 200
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{base} did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the gateway routes every service: Traefik's own 404 is
/// plain text, the services answer JSON (a resource or a problem).
pub async fn wait_routes(gateway: &str, timeout: Duration) {
    let started = Instant::now();
    for path in [
        "/.well-known/jwks.json",
        "/api/v1/products",
        "/api/v1/carts/00000000-0000-0000-0000-000000000000",
        "/api/v1/orders/00000000-0000-0000-0000-000000000000",
        "/api/v1/payments/00000000-0000-0000-0000-000000000000",
        "/api/v1/notifications",
    ] {
        loop {
            // The service's own answer: JSON, and neither the edge's 503 (no
            // instance yet) nor its 404 (Traefik has no route yet).
            let ours = match reqwest::get(format!("{gateway}{path}")).await {
                Ok(r) if r.status() != 503 => {
                    let json = r
                        .headers()
                        .get("content-type")
                        .is_some_and(|v| v.to_str().unwrap_or("").contains("json"));
                    let body: serde_json::Value = r.json().await.unwrap_or_default();
                    json && body["code"] != "GEN-0404"
                }
                _ => false,
            };
            if ours {
                break;
            }
            assert!(
                started.elapsed() < timeout,
                "the gateway never routed {path}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Requests to `route` answered 200 by the instance at `base`, from its
/// metrics (0 when it cannot be read).
pub async fn served(base: &str, route: &str) -> u64 {
    let Ok(response) = reqwest::get(format!("{base}/metrics")).await else {
        return 0;
    };
    let route = format!("route=\"{route}\"");
    response
        .text()
        .await
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(&route)
                && l.contains("status=\"200\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
