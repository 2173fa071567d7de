//! Process mode behind the real gateway (the shipped deploy/traefik
//! configuration): Traefik follows etcd, three catalog processes register
//! themselves, requests reach all three, and a SIGKILLed one costs no
//! failed read and no write (each POST is sent once, with its body, and
//! answered 201); the gateway's own answers are problem documents with a
//! request id; its routes, merged OpenAPI document and health go through
//! it; with every catalog gone, the route stays and answers 503.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes,
    reason = "a failed step fails the test loudly, in helpers too; child processes are reaped by their guards"
)]

mod common;

use std::{
    path::Path,
    process::{Child, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use common::{free_port, mercato_command, served, wait_ready};
use platform::discovery::Etcd;
use serde_json::json;
use testkit::{
    Backend, Target, etcd::EtcdServer, on_both_backends, spawn_targets, traefik::Traefik,
};

on_both_backends!(three_catalogs_behind_traefik_and_one_crashes);

const SERVERS: &str = "traefik/http/services/catalog/loadBalancer/servers/";

/// `mercato serve --target catalog` as its own process, registered in etcd.
fn start_catalog(
    backend: Backend,
    data: &Path,
    prefix: &str,
    etcd: &str,
    jwks: &str,
) -> (Child, String) {
    let port = free_port();
    let mut cmd = mercato_command();
    cmd.env("MERCATO__DATABASE__DATA_DIR", data)
        .env("MERCATO__DISCOVERY__ETCD_URL", etcd)
        .env("MERCATO__DISCOVERY__LEASE_TTL_SECS", "2")
        .env("MERCATO__AUTH__JWKS_URL", jwks)
        .env("MERCATO__TELEMETRY__FILTER", "warn")
        .env("MERCATO__CATALOG__DEMO_PRODUCTS", "0");
    if backend == Backend::Postgres {
        cmd.env("MERCATO__DATABASE__URL", testkit::postgres_url())
            .env("MERCATO__DATABASE__SCHEMA_PREFIX", prefix);
    }
    let child = cmd
        .args([
            "serve",
            "--target",
            "catalog",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

async fn three_catalogs_behind_traefik_and_one_crashes(backend: Backend) {
    let etcd_server = EtcdServer::start().await;
    let etcd_url = etcd_server.url();
    let etcd = Etcd::new(&etcd_url).unwrap();
    let traefik = Traefik::start(&etcd_url).await;
    let url = etcd_url.clone();
    let users = spawn_targets(backend, &[Target::Users], |cfg| {
        cfg.discovery.etcd_url = Some(url);
        cfg.discovery.lease_ttl_secs = 2;
    })
    .await;
    let jwks = format!("{}/.well-known/jwks.json", users.base);
    let data = tempfile::tempdir().unwrap();
    let prefix = format!("g{}_", uuid::Uuid::new_v4().simple());
    let mut instances = Vec::new();
    // One after the other: the first migrates the shared database.
    for _ in 0..3 {
        let (child, base) = start_catalog(backend, data.path(), &prefix, &etcd_url, &jwks);
        wait_ready(&base).await;
        instances.push((child, base));
    }
    let started = Instant::now();
    while etcd.prefix(SERVERS).await.unwrap().len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Everything below goes through the gateway only.
    let http = reqwest::Client::new();
    let gw = traefik.base.clone();
    let started = Instant::now();
    let admin = loop {
        let r = http
            .post(format!("{gw}/api/v1/auth/login"))
            .json(&json!({"email": testkit::ADMIN_EMAIL, "password": testkit::ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let body: serde_json::Value = r.json().await.unwrap();
            break body["access_token"].as_str().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no route to users"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Traefik follows etcd a moment later: wait for the catalog's route.
    let started = Instant::now();
    while http
        .get(format!("{gw}/api/v1/products"))
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no route to catalog"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let created = http
        .post(format!("{gw}/api/v1/products"))
        .bearer_auth(&admin)
        .header("x-request-id", "gateway-test-1")
        .json(&json!({"slug": "gw", "name": "Gateway", "status": "published",
            "variants": [{"sku": "GW-1", "title": "One", "price": {"amount": 100, "currency": "USD"}, "stock": 5}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.headers()["x-request-id"],
        "gateway-test-1",
        "the request id passes through"
    );
    // The edge refuses an oversized body itself.
    let big = http
        .post(format!("{gw}/api/v1/products"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .header("x-request-id", "gateway-test-413")
        .send()
        .await
        .unwrap();
    assert_gateway_problem(big, 413, "gateway-test-413").await;

    // Paths no service owns: the edge's 404 problem, not Traefik's text.
    let unknown = http
        .get(format!("{gw}/no/such/page"))
        .header("x-request-id", "gateway-test-404")
        .send()
        .await
        .unwrap();
    assert_gateway_problem(unknown, 404, "gateway-test-404").await;
    // The merged document of the services that run (users and catalog).
    let doc: serde_json::Value = http
        .get(format!("{gw}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/api/v1/auth/login", "/api/v1/products/{id}"] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the gateway's document"
        );
    }
    let docs = http.get(format!("{gw}/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200, "Swagger UI through the gateway");
    // The edge's readiness names the services without an instance.
    let health = http.get(format!("{gw}/health/ready")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["instances"]["catalog"], 3);
    assert_eq!(health["instances"]["users"], 1);
    assert_eq!(health["instances"]["orders"], 0);
    assert!(health["detail"].as_str().unwrap().contains("orders"));
    // The gateway's own metrics, to loopback.
    let metrics = http.get(format!("{gw}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("traefik_"));

    // The load is spread over all three.
    let route = "/api/v1/products/{id}";
    let before: Vec<u64> =
        futures::future::join_all(instances.iter().map(|(_, b)| served(b, route))).await;
    for _ in 0..60 {
        let r = http
            .get(format!("{gw}/api/v1/products/gw"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let after: Vec<u64> =
        futures::future::join_all(instances.iter().map(|(_, b)| served(b, route))).await;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert!(
            a > b,
            "instance {i} served nothing: {before:?} -> {after:?}"
        );
    }

    // Steady reads and writes while one instance is SIGKILLed.
    let running = Arc::new(AtomicBool::new(true));
    let reads = {
        let (http, gw, running) = (http.clone(), gw.clone(), running.clone());
        tokio::spawn(async move {
            let mut results = Vec::new();
            while running.load(Ordering::Relaxed) {
                let status = http
                    .get(format!("{gw}/api/v1/products/gw"))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                results.push((Instant::now(), status));
                // Bounded, and well inside the gateway's rate limit.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            results
        })
    };
    let writes = {
        let (http, gw, running, admin) = (http.clone(), gw.clone(), running.clone(), admin.clone());
        tokio::spawn(async move {
            let mut results = Vec::new();
            let mut n = 0;
            while running.load(Ordering::Relaxed) {
                n += 1;
                let slug = format!("load-{n}");
                let sent = Instant::now();
                let status = http
                    .post(format!("{gw}/api/v1/products"))
                    .bearer_auth(&admin)
                    .json(&json!({"slug": slug, "name": "Load", "status": "published",
                        "variants": [{"sku": format!("LOAD-{n}"), "title": "One", "price": {"amount": 100, "currency": "USD"}, "stock": 1}]}))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                results.push((slug, status, sent));
            }
            results
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut victim, _) = instances.remove(0);
    victim.kill().unwrap();
    victim.wait().unwrap();
    let killed = Instant::now();
    while etcd.prefix(SERVERS).await.unwrap().len() != 2 {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "the lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    running.store(false, Ordering::Relaxed);
    let reads = reads.await.unwrap();
    let writes = writes.await.unwrap();
    let failed: Vec<u16> = reads
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| *s != 200)
        .collect();
    assert!(reads.len() > 50, "the reads kept going");
    assert!(failed.is_empty(), "reads that failed: {failed:?}");
    // A write the dead instance got before the gateway took it out (in
    // flight, or on a pooled connection it had not yet seen closed: written,
    // then reset) is not sent twice: its client gets a 502 problem and
    // decides. Once the health check has run (each second, 2 s to answer),
    // every write goes to a live instance, with its body, and creates
    // exactly one product.
    let taken_out = killed + Duration::from_secs(3);
    let (answered, lost): (Vec<_>, Vec<_>) = writes.iter().partition(|(_, s, _)| *s == 201);
    assert!(
        writes
            .iter()
            .filter(|(_, _, sent)| *sent > taken_out)
            .count()
            > 10,
        "the writes kept going"
    );
    assert!(
        lost.iter()
            .all(|(_, s, sent)| *s == 502 && *sent < taken_out),
        "writes that failed: {lost:?}"
    );
    for (slug, _, _) in &answered {
        let r = http
            .get(format!("{gw}/api/v1/products/{slug}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{slug} was answered 201 but is missing");
    }
    let listed: serde_json::Value = http
        .get(format!("{gw}/api/v1/products?q=Load&limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    eprintln!(
        "{} reads and {} writes through the kill: no read failed, {} writes the dead instance got before it was taken out had a 502; {} products listed",
        reads.len(),
        writes.len(),
        lost.len(),
        listed["items"].as_array().map_or(0, Vec::len)
    );

    // With every catalog gone the route stays: 503 with Retry-After, as a
    // problem, instead of Traefik's 404.
    for (mut child, _) in instances.drain(..) {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let gone = Instant::now();
    loop {
        let r = http
            .get(format!("{gw}/api/v1/products/gw"))
            .header("x-request-id", "gateway-test-503")
            .send()
            .await
            .unwrap();
        // Once the gateway has taken the dead out of its pools (the edge's
        // too: the catalogs served its pages as well), the route answers
        // the edge's 503 problem; until then it may fail in other ways.
        let problem = r
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json");
        if r.status() == 503 && problem {
            assert!(r.headers().contains_key("retry-after"));
            assert_gateway_problem(r, 503, "gateway-test-503").await;
            break;
        }
        assert!(
            [200, 502, 503, 504].contains(&r.status().as_u16()),
            "while the catalogs die: {}",
            r.status()
        );
        assert!(gone.elapsed() < Duration::from_secs(10), "never 503");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (mut child, _) in instances {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A problem document made at the edge: its status, problem+json, and the
/// client's request id echoed in the header and the body.
async fn assert_gateway_problem(response: reqwest::Response, status: u16, request_id: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["x-request-id"], request_id);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert_eq!(body["request_id"], request_id);
}
