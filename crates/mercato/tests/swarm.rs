//! The Swarm stack, live on this machine's engine (`deploy/swarm`): images
//! pulled from a registry and pinned by digest, every service healthy
//! behind Traefik's host-mode port, a purchase through the gateway,
//! catalog scaled 2 -> 3 with traffic reaching every replica, a killed
//! task replaced, a rolling update under steady reads that loses none, an
//! update whose health check fails rolled back by Swarm itself, and the
//! data still there after the whole stack is removed and deployed again.
//! Needs the images scripts/test builds (MERCATO_TEST_IMAGE_TAG); skipped
//! without an engine, except in CI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use common::swarm::{SwarmStack, docker};
use testkit::{
    Backend, Target,
    shop::{cart_with, pay, place, product, wait_status},
};

fn engine() -> bool {
    let up = std::process::Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success());
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no Docker engine answers"
        );
        eprintln!("skipped: no Docker engine is reachable");
    }
    up
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_swarm_stack_serves_scales_updates_rolls_back_and_keeps_its_data() {
    if !engine() {
        return;
    }
    let tag = testkit::installed(
        "MERCATO_TEST_IMAGE_TAG",
        "the images (scripts/build-images)",
    );
    let started_at = Instant::now();
    let stack = SwarmStack::deploy(&tag).await;

    eprintln!("swarm test: deployed at {:?}", started_at.elapsed());
    // Every task runs an image from the registry, pinned by its digest.
    for service in ["users", "catalog", "payments"] {
        let image = String::from_utf8(
            docker(&[
                "service",
                "inspect",
                &stack.service(service),
                "--format",
                "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
            ])
            .stdout,
        )
        .unwrap();
        assert!(
            image.starts_with(&stack.registry) && image.contains("@sha256:"),
            "{service}: {image}"
        );
    }

    eprintln!("swarm test: images pinned at {:?}", started_at.elapsed());
    // Prometheus with the shipped Swarm configuration finds every task of
    // the stack's services, one job per service, and the gateway. (From
    // this host it cannot reach the overlay network to scrape them: that
    // is for a Prometheus on the stack's network.)
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/prometheus/prometheus-swarm.yml"),
    )
    .unwrap();
    let config = shipped
        .replace("regex: mercato\n", &format!("regex: {}\n", stack.name))
        .replace("mercato_edge", &format!("{}_edge", stack.name))
        .replace("mercato_(", &format!("{}_(", stack.name))
        .replace(
            "regex: mercato_traefik",
            &format!("regex: {}_traefik", stack.name),
        )
        .replace("refresh_interval: 15s", "refresh_interval: 2s")
        .replace("  - /etc/prometheus/rules/*.yml\n", "")
        .replace("rule_files:\n", "");
    let prometheus = testkit::prometheus::Prometheus::start(&config).await;
    let wanted: BTreeMap<String, usize> = [
        ("users", 2),
        ("catalog", 2),
        ("cart", 2),
        ("orders", 2),
        ("payments", 2),
        ("notifications", 1),
        ("gateway", 1),
    ]
    .into_iter()
    .map(|(job, n)| (job.to_owned(), n))
    .collect();
    let started = Instant::now();
    loop {
        let targets: serde_json::Value =
            reqwest::get(format!("{}/api/v1/targets", prometheus.base))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let mut jobs: BTreeMap<String, usize> = BTreeMap::new();
        for target in targets["data"]["activeTargets"].as_array().unwrap() {
            let job = target["labels"]["job"].as_str().unwrap().to_owned();
            // Every target is a task's address on the edge network, port 8080.
            assert!(
                target["labels"]["instance"].is_string()
                    && target["scrapeUrl"].as_str().unwrap().contains(":8080/"),
                "{target}"
            );
            *jobs.entry(job).or_default() += 1;
        }
        if jobs == wanted {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Prometheus discovered {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(prometheus);
    eprintln!(
        "swarm test: discovered by Prometheus at {:?}",
        started_at.elapsed()
    );

    // A purchase through the gateway, by a customer, to paid.
    let local = testkit::spawn_targets(Backend::Sqlite, &[Target::Users], |_| {}).await;
    let gw = local.pointed_at(&stack.gateway);
    let variants = product(&gw, "swarmed", &[(2500, 20)]).await;
    let buyer = gw.register("swarm").await;
    let token = Some(buyer.access.as_str());
    let cart = cart_with(&gw, token, &[(&variants[0], 1)]).await;
    let placed = place(&gw, token, &cart, None, Some("swarm-1")).await;
    placed.expect(201);
    let order = placed.body["id"].as_str().unwrap().to_owned();
    wait_status(&gw, &order, token, "awaiting_payment").await;
    pay(&gw, &order, token, "4242424242424242")
        .await
        .expect(200);
    wait_status(&gw, &order, token, "paid").await;

    eprintln!("swarm test: paid at {:?}", started_at.elapsed());
    // Catalog from two replicas to three: the gateway sees three, and
    // reads reach each of them.
    docker(&[
        "service",
        "scale",
        "-d",
        &format!("{}=3", stack.service("catalog")),
    ]);
    let started = Instant::now();
    loop {
        let ready: serde_json::Value = reqwest::get(format!("{}/health/ready", stack.gateway))
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or_default();
        if ready["instances"]["catalog"] == 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "catalog never had three instances: {ready}\n{}",
            stack.tasks_report()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "swarm test: three catalog instances at {:?}",
        started_at.elapsed()
    );
    // Each read of a page that is not there is a log line of the replica
    // that answered it, its path unique to this test.
    let marker = format!("replica-{}", uuid::Uuid::new_v4().simple());
    let started = Instant::now();
    loop {
        for _ in 0..30 {
            gw.get(&format!("/api/v1/products/{marker}"), None)
                .await
                .expect(404);
        }
        // Each replica's own log (`docker service logs` can hang on an
        // engine under load; a container's log does not).
        let served: BTreeSet<String> = stack
            .containers("catalog")
            .into_iter()
            .filter(|container| {
                let logs = docker(&["logs", container]);
                String::from_utf8_lossy(&logs.stdout).contains(&marker)
                    || String::from_utf8_lossy(&logs.stderr).contains(&marker)
            })
            .collect();
        // The gateway adds the new one once its health check passes.
        if served.len() == 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "reads reached only {served:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    eprintln!(
        "swarm test: reads reached every replica at {:?}",
        started_at.elapsed()
    );
    // A killed task is replaced, and the service serves on.
    let before = stack.containers("catalog");
    assert_eq!(before.len(), 3);
    docker(&["kill", &before[0]]);
    let started = Instant::now();
    loop {
        let now = stack.containers("catalog");
        if now.len() == 3 && !now.contains(&before[0]) && stack.replicas("catalog") == (3, 3) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the killed task was not replaced: {now:?}\n{}",
            stack.tasks_report()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    gw.get("/api/v1/products", None).await.expect(200);

    // A rolling update of catalog (a new task spec, one task at a time,
    // each new one healthy before an old one stops) under steady reads:
    // every read is answered.
    eprintln!("swarm test: task replaced at {:?}", started_at.elapsed());
    let load = {
        let (client, url) = (
            gw.client.clone(),
            format!("{}/api/v1/products?limit=5", stack.gateway),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
            while !stopping.load(Ordering::Relaxed) {
                let status = match client.get(&url).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                *statuses.entry(status).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            statuses
        });
        (stop, task)
    };
    docker(&[
        "service",
        "update",
        "--quiet",
        "--env-add",
        "MERCATO_ROLLOUT=2",
        &stack.service("catalog"),
    ]);
    assert_eq!(stack.update_state("catalog"), "completed");
    load.0.store(true, Ordering::Relaxed);
    let statuses = load.1.await.unwrap();
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "reads during the rolling update: {statuses:?}"
    );
    assert!(statuses[&200] > 100, "{statuses:?}");

    // An update whose new tasks never become healthy: Swarm rolls it
    // back by itself, and the old tasks serve on.
    eprintln!("swarm test: rolled out at {:?}", started_at.elapsed());
    let bad = std::process::Command::new("docker")
        .args([
            "service",
            "update",
            "--quiet",
            "--health-cmd",
            "/mercato healthcheck http://127.0.0.1:9/nothing-listens-here",
            "--health-start-period",
            "0s",
            "--health-interval",
            "2s",
            "--health-retries",
            "1",
            &stack.service("catalog"),
        ])
        .output()
        .unwrap();
    let state = stack.update_state("catalog");
    assert_eq!(
        state,
        "rollback_completed",
        "{}{}",
        String::from_utf8_lossy(&bad.stdout),
        String::from_utf8_lossy(&bad.stderr)
    );
    let health = String::from_utf8(
        docker(&[
            "service",
            "inspect",
            &stack.service("catalog"),
            "--format",
            "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck.Test}}",
        ])
        .stdout,
    )
    .unwrap();
    assert!(health.contains("/health/ready"), "{health}");
    assert_eq!(stack.replicas("catalog"), (3, 3));
    gw.get("/api/v1/products", None).await.expect(200);

    // The whole stack removed and deployed again: the paid order is there.
    eprintln!("swarm test: rolled back at {:?}", started_at.elapsed());
    stack.remove().await;
    stack.stack_deploy();
    stack.wait_converged(Duration::from_secs(240)).await;
    wait_status(&gw, &order, token, "paid").await;
    eprintln!("swarm test: redeployed at {:?}", started_at.elapsed());
}
