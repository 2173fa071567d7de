//! The Compose deployment on this machine's Docker engine: the same
//! `deploy/compose/compose.yaml` with `compose.local.yaml`, which swaps
//! only the third-party `image:`s for the locally built ones (no registry
//! is reachable), driven through Traefik only. Needs the images of `scripts/build-images`
//! (`scripts/test` builds them when an engine is there). Without an engine
//! the test says so in one line and passes, except under `CI=true`, where
//! a missing engine is a failure.

// Tests fail loudly; helpers outside #[test] functions need this said.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    path::PathBuf,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use common::{free_port, served, wait_routes};
use platform::discovery::Etcd;
use serde_json::json;
use testkit::{
    Backend, Target,
    shop::{cart_with, pay, place, product, wait_status},
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine_available() -> bool {
    Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Compose project of the test; taken down with its volumes on drop.
struct Project {
    name: String,
    dir: tempfile::TempDir,
}

impl Project {
    fn compose(&self, args: &[&str]) -> std::process::Output {
        let compose = repo().join("deploy/compose/compose.yaml");
        let output = Command::new("docker-compose")
            .arg("--project-name")
            .arg(&self.name)
            .arg("--env-file")
            .arg(self.dir.path().join(".env"))
            .arg("-f")
            .arg(&compose)
            .arg("-f")
            .arg(repo().join("deploy/compose/compose.local.yaml"))
            .arg("-f")
            .arg(self.dir.path().join("test-ports.yaml"))
            .args(args)
            .output()
            .expect("docker-compose runs");
        assert!(
            output.status.success(),
            "docker-compose {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn container_ids(&self, service: &str) -> Vec<String> {
        let out = self.compose(&["ps", "-q", service]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let compose = repo().join("deploy/compose/compose.yaml");
        let _ = Command::new("docker-compose")
            .arg("--project-name")
            .arg(&self.name)
            .arg("--env-file")
            .arg(self.dir.path().join(".env"))
            .arg("-f")
            .arg(&compose)
            .arg("-f")
            .arg(repo().join("deploy/compose/compose.local.yaml"))
            .arg("-f")
            .arg(self.dir.path().join("test-ports.yaml"))
            .args(["down", "-v", "--remove-orphans"])
            .output();
    }
}

/// Fails clearly when scripts/build-images has not built the images that
/// compose.local.yaml names.
fn require_local_images() {
    for image in ["postgres", "nats", "etcd", "traefik"] {
        let name = format!("mercato-local/{image}:local");
        let found = Command::new("docker")
            .args(["image", "inspect", &name])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "no image {name}: run scripts/build-images");
    }
}

/// The containers' addresses of the catalog instances registered in etcd.
async fn catalog_urls(etcd: &Etcd) -> Vec<String> {
    etcd.prefix("traefik/http/services/catalog/loadBalancer/servers/")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(_, url)| url)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_stack_serves_scales_survives_and_persists() {
    if !engine_available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no Docker engine answers"
        );
        eprintln!("skipped: no Docker engine is reachable (the container tests need one)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let etcd_port = free_port();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "POSTGRES_PASSWORD=pg-secret\nUSERS_DB_PASSWORD=u-secret\nCATALOG_DB_PASSWORD=c-secret\n\
             CART_DB_PASSWORD=ca-secret\nORDERS_DB_PASSWORD=o-secret\nPAYMENTS_DB_PASSWORD=p-secret\n\
             NOTIFICATIONS_DB_PASSWORD=n-secret\nADMIN_EMAIL={}\nADMIN_PASSWORD={}\n\
             MERCATO_HTTP_PORT={port}\nMERCATO_ADMIN_PORT={}\nMERCATO_TAG={}\n",
            testkit::ADMIN_EMAIL,
            testkit::ADMIN_PASSWORD,
            free_port(),
            std::env::var("MERCATO_TEST_IMAGE_TAG").unwrap_or_else(|_| "latest".into()),
        ),
    )
    .unwrap();
    require_local_images();
    // The documented override for machines without a registry, and etcd
    // published for the test to read the registrations.
    std::fs::write(
        dir.path().join("test-ports.yaml"),
        format!("services:\n  etcd:\n    ports: [\"127.0.0.1:{etcd_port}:2379\"]\n"),
    )
    .unwrap();
    let project = Project {
        name: format!("mt{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        dir,
    };
    project.compose(&["up", "-d"]);
    let gateway = format!("http://127.0.0.1:{port}");
    wait_routes(&gateway, Duration::from_secs(180)).await;
    let local = testkit::spawn_targets(Backend::Sqlite, &[Target::Users], |_| {}).await;
    let gw = local.pointed_at(&gateway);
    let etcd = Etcd::new(&format!("http://127.0.0.1:{etcd_port}")).unwrap();

    // The customer journey through the gateway.
    let admin = gw.admin_token().await;
    let variants = product(&gw, "box", &[(990, 100)]).await;
    let bo = gw.register("bo").await;
    let token = Some(bo.access.as_str());
    let cart = cart_with(&gw, token, &[(&variants[0], 2)]).await;
    let order = place(&gw, token, &cart, None, Some("compose-1")).await;
    order.expect(201);
    let order = order.body["id"].as_str().unwrap().to_owned();
    wait_status(&gw, &order, token, "awaiting_payment").await;
    pay(&gw, &order, token, "4242424242424242")
        .await
        .expect(200);
    wait_status(&gw, &order, token, "paid").await;
    gw.post(
        &format!("/api/v1/orders/{order}/ship"),
        Some(&admin),
        &json!({"carrier": "UPS", "tracking_number": "1Z"}),
    )
    .await
    .expect(200);

    // Three catalogs: all take requests, with no edit anywhere.
    project.compose(&["up", "-d", "--no-recreate", "--scale", "catalog=3"]);
    let started = Instant::now();
    let urls = loop {
        let urls = catalog_urls(&etcd).await;
        if urls.len() == 3 {
            break urls;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{urls:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await; // Traefik follows etcd
    let before: Vec<u64> =
        futures::future::join_all(urls.iter().map(|u| served(u, "/api/v1/products/{id}"))).await;
    for _ in 0..90 {
        gw.get("/api/v1/products/box", None).await.expect(200);
    }
    let after: Vec<u64> =
        futures::future::join_all(urls.iter().map(|u| served(u, "/api/v1/products/{id}"))).await;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert!(a > b, "catalog {i} served nothing: {before:?} -> {after:?}");
    }

    // One catalog killed under steady load: no failure once its lease is gone.
    let running = Arc::new(AtomicBool::new(true));
    let load = {
        let (client, gateway, running) = (reqwest::Client::new(), gateway.clone(), running.clone());
        tokio::spawn(async move {
            let mut results = Vec::new();
            while running.load(Ordering::Relaxed) {
                let status = client
                    .get(format!("{gateway}/api/v1/products/box"))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                results.push((Instant::now(), status));
            }
            results
        })
    };
    let victim = project.container_ids("catalog").pop().unwrap();
    assert!(
        Command::new("docker")
            .args(["kill", &victim])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    while catalog_urls(&etcd).await.len() != 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the killed instance stayed registered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expired = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    running.store(false, Ordering::Relaxed);
    let results = load.await.unwrap();
    let late: Vec<u16> = results
        .iter()
        .filter(|(at, _)| *at > expired + Duration::from_secs(1))
        .map(|(_, s)| *s)
        .collect();
    assert!(!late.is_empty());
    assert!(
        late.iter().all(|s| *s == 200),
        "failures after the lease: {late:?}"
    );

    // NATS restarted while orders are placed: every order reaches paid.
    let mut orders = Vec::new();
    for i in 0..6 {
        let cart = cart_with(&gw, token, &[(&variants[0], 1)]).await;
        let placed = place(&gw, token, &cart, None, Some(&format!("n{i}"))).await;
        placed.expect(201);
        orders.push(placed.body["id"].as_str().unwrap().to_owned());
        if i == 2 {
            project.compose(&["restart", "nats"]);
        }
    }
    for order in &orders {
        wait_status(&gw, order, token, "awaiting_payment").await;
        pay(&gw, order, token, "4242424242424242").await.expect(200);
        wait_status(&gw, order, token, "paid").await;
    }

    // The whole stack stopped and started: nothing is lost.
    let open_cart = cart_with(&gw, token, &[(&variants[0], 4)]).await;
    project.compose(&["stop"]);
    project.compose(&["start"]);
    wait_routes(&gateway, Duration::from_secs(180)).await;
    let login = gw.login(&bo.email, testkit::GOOD_PASSWORD).await;
    login.expect(200);
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let mine = gw.get("/api/v1/orders?limit=100", Some(&token)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 7);
    let shipped = gw
        .get(&format!("/api/v1/orders/{order}"), Some(&token))
        .await;
    assert_eq!(shipped.body["status"], "shipped");
    let cart = gw
        .get(&format!("/api/v1/carts/{open_cart}"), Some(&token))
        .await;
    assert_eq!(cart.body["item_count"], 4);
}
