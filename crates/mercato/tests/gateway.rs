//! Process mode behind the real gateway: Traefik follows etcd, three
//! catalog processes register themselves, requests reach all three, and a
//! SIGKILLed one costs no failed request once its lease has run out.

// Tests fail loudly; helpers outside #[test] functions need this said.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
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
        .env(
            "MERCATO__DISCOVERY__MIDDLEWARES",
            "mercato-retry@file,mercato-body-limit@file",
        )
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
        cfg.discovery.middlewares = vec!["mercato-retry@file".into()];
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
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);

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

    // Steady load while one instance is SIGKILLed.
    let running = Arc::new(AtomicBool::new(true));
    let load = {
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
    let expired = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    running.store(false, Ordering::Relaxed);
    let results = load.await.unwrap();
    let after_expiry: Vec<u16> = results
        .iter()
        .filter(|(at, _)| *at > expired + Duration::from_secs(1))
        .map(|(_, s)| *s)
        .collect();
    assert!(after_expiry.len() > 20, "the load kept going");
    assert!(
        after_expiry.iter().all(|s| *s == 200),
        "failures after the lease expired: {:?}",
        after_expiry
            .iter()
            .filter(|s| **s != 200)
            .collect::<Vec<_>>()
    );
    let window: Vec<u16> = results
        .iter()
        .filter(|(at, _)| *at > killed && *at <= expired + Duration::from_secs(1))
        .map(|(_, s)| *s)
        .filter(|s| *s != 200)
        .collect();
    eprintln!(
        "{} requests in all; {} failed between the kill and the lease's end (retries cover most)",
        results.len(),
        window.len()
    );
    for (mut child, _) in instances {
        let _ = child.kill();
        let _ = child.wait();
    }
}
