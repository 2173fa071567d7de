//! Service discovery against a real etcd: instances register in the key
//! layout Traefik reads, keep their lease, leave on shutdown, drop out
//! after a crash, find each other there, and keep serving while etcd is
//! away.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes,
    reason = "a failed step fails the test loudly, in helpers too; child processes are reaped by their guards"
)]

mod common;

use std::time::{Duration, Instant};

use common::{free_port, mercato_command};
use platform::discovery::Etcd;
use serde_json::json;
use testkit::{Backend, Target, TestApp, etcd::EtcdServer, on_both_backends, spawn_targets};

on_both_backends!(
    an_instance_registers_its_routes_and_leaves_on_shutdown,
    a_crashed_instance_drops_out_when_its_lease_expires,
    cart_finds_the_catalog_instances_through_etcd,
    an_instance_serves_while_etcd_is_down_and_registers_when_it_is_back,
);

const SERVERS: &str = "traefik/http/services/catalog/loadBalancer/servers/";

async fn servers(etcd: &Etcd) -> Vec<String> {
    etcd.prefix(SERVERS)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, url)| url)
        .collect()
}

async fn wait_servers(etcd: &Etcd, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let started = Instant::now();
    loop {
        let now = servers(etcd).await;
        if done(&now) {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "etcd never showed {what}: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn catalog(backend: Backend, etcd_url: &str) -> TestApp {
    let url = etcd_url.to_owned();
    spawn_targets(
        backend,
        &[Target::Users, Target::Catalog, Target::Pricing],
        |cfg| {
            cfg.discovery.etcd_url = Some(url);
            cfg.discovery.lease_ttl_secs = 2;
        },
    )
    .await
}

async fn an_instance_registers_its_routes_and_leaves_on_shutdown(backend: Backend) {
    let etcd_server = EtcdServer::start().await;
    let etcd = Etcd::new(&etcd_server.url()).unwrap();
    let app = catalog(backend, &etcd_server.url()).await;
    let urls = wait_servers(&etcd, "the instance", |s| s.len() == 1).await;
    assert_eq!(urls, std::slice::from_ref(&app.base));
    let routers = etcd.prefix("traefik/http/routers/catalog/").await.unwrap();
    let rule = routers
        .iter()
        .find(|(k, _)| k.ends_with("/rule"))
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(rule.contains("PathPrefix(`/api/v1/products`)"), "{rule}");
    assert!(
        routers
            .iter()
            .any(|(k, v)| k.ends_with("/service") && v == "catalog")
    );
    let users = etcd
        .prefix("traefik/http/routers/users/rule")
        .await
        .unwrap();
    assert!(users[0].1.contains("PathPrefix(`/.well-known/jwks.json`)"));
    let ready = app.get("/health/ready", None).await;
    ready.expect(200);
    assert!(ready.text.contains("registry.etcd"), "{}", ready.text);
    // Longer than the lease: the keep-alive holds it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(servers(&etcd).await.len(), 1);

    app.begin_shutdown();
    let started = Instant::now();
    wait_servers(&etcd, "the instance gone", <[String]>::is_empty).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "left at once, not by expiry"
    );
}

async fn a_crashed_instance_drops_out_when_its_lease_expires(backend: Backend) {
    let etcd_server = EtcdServer::start().await;
    let etcd = Etcd::new(&etcd_server.url()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = mercato_command();
    cmd.env("MERCATO__DATABASE__DATA_DIR", data.path())
        .env("MERCATO__DISCOVERY__ETCD_URL", etcd_server.url())
        .env("MERCATO__DISCOVERY__LEASE_TTL_SECS", "2")
        .env("MERCATO__CATALOG__DEMO_PRODUCTS", "0")
        .env(
            "MERCATO__AUTH__JWKS_URL",
            "http://127.0.0.1:9/.well-known/jwks.json",
        );
    if backend == Backend::Postgres {
        cmd.env("MERCATO__DATABASE__URL", testkit::postgres_url())
            .env(
                "MERCATO__DATABASE__SCHEMA_PREFIX",
                format!("d{}_", uuid::Uuid::new_v4().simple()),
            );
    }
    let mut child = cmd
        .args([
            "serve",
            "--target",
            "catalog",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let urls = wait_servers(&etcd, "the process", |s| s.len() == 1).await;
    assert_eq!(urls, [format!("http://127.0.0.1:{port}")]);
    child.kill().unwrap(); // SIGKILL: no chance to leave
    child.wait().unwrap();
    let started = Instant::now();
    wait_servers(&etcd, "the crashed instance gone", <[String]>::is_empty).await;
    let gone = started.elapsed();
    assert!(
        gone < Duration::from_secs(6),
        "gone within the 2 s lease (and etcd's granularity): {gone:?}"
    );
}

async fn cart_finds_the_catalog_instances_through_etcd(backend: Backend) {
    let etcd_server = EtcdServer::start().await;
    let etcd = Etcd::new(&etcd_server.url()).unwrap();
    let shop = catalog(backend, &etcd_server.url()).await;
    let variants = testkit::shop::product(&shop, "found", &[(700, 5)]).await;
    wait_servers(&etcd, "the catalog", |s| s.len() == 1).await;
    let url = etcd_server.url();
    let pricing = shop.base.clone();
    // No catalog_url: the cart looks the catalog up in etcd.
    let carts = spawn_targets(backend, &[Target::Cart], |cfg| {
        cfg.discovery.etcd_url = Some(url);
        cfg.cart.pricing_url = Some(pricing);
        cfg.discovery.lease_ttl_secs = 2;
        cfg.auth.jwks_url = Some(format!("{}/.well-known/jwks.json", shop.base));
    })
    .await;
    let cart = carts.post("/api/v1/carts", None, &json!({})).await;
    let cart = cart.body["id"].as_str().unwrap().to_owned();
    let added = carts
        .post(
            &format!("/api/v1/carts/{cart}/items"),
            None,
            &json!({"variant_id": variants[0], "quantity": 2}),
        )
        .await;
    added.expect(200);
    assert_eq!(added.body["subtotal"]["amount"], 1400);
    // The catalog goes away: the cart says so with a 503, not a hang.
    drop(shop);
    wait_servers(&etcd, "no catalog", <[String]>::is_empty).await;
    tokio::time::sleep(Duration::from_millis(2100)).await; // past the lookup cache
    let reply = carts
        .post(
            &format!("/api/v1/carts/{cart}/items"),
            None,
            &json!({"variant_id": variants[0], "quantity": 1}),
        )
        .await;
    assert_eq!(reply.problem(503)["code"], "CRT-0003");
}

async fn an_instance_serves_while_etcd_is_down_and_registers_when_it_is_back(backend: Backend) {
    let mut etcd_server = EtcdServer::start().await;
    etcd_server.stop();
    let app = catalog(backend, &etcd_server.url()).await;
    // Serving regardless, and saying the registry is down.
    app.get("/api/v1/products", None).await.expect(200);
    let ready = app.get("/health/ready", None).await;
    ready.expect(200);
    assert_eq!(ready.body["status"], "degraded");
    assert!(
        ready.body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "registry.etcd" && c["status"] == "down")
    );
    etcd_server.resume().await;
    let etcd = Etcd::new(&etcd_server.url()).unwrap();
    wait_servers(&etcd, "the instance after etcd came back", |s| s.len() == 1).await;
    let started = Instant::now();
    loop {
        let ready = app.get("/health/ready", None).await;
        if ready.body["status"] == "up" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            ready.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
