//! The Swarm stack, live on this machine's engine (`deploy/swarm`): images
//! pulled from a registry and pinned by digest, every service healthy
//! behind Traefik's host-mode port and scraped by the stack's own
//! Prometheus, a purchase through the gateway, catalog scaled 2 -> 3 with
//! traffic reaching every replica, a killed task replaced, a new catalog
//! release rolled out by scripts/deploy under steady reads that loses
//! none, an update whose health check fails rolled back by Swarm itself,
//! a healthy but broken cart release failing scripts/deploy's smoke test
//! and rolled back, the data still there after the whole stack is removed
//! and deployed again, and the stack's autoscaler taking catalog down to
//! its minimum, up to its maximum under load and back. Needs the images
//! scripts/test builds (MERCATO_TEST_IMAGE_TAG); skipped without an
//! engine, except in CI.

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
    // The stack's Prometheus (deploy/prometheus/prometheus-swarm.yml) finds
    // every task through the Engine API and scrapes each on the overlay
    // network, one job per service; it has the rules and its Alertmanager.
    let wanted: BTreeMap<String, f64> = [
        ("users", 2.0),
        ("catalog", 2.0),
        ("pricing", 2.0),
        ("cart", 2.0),
        ("orders", 2.0),
        ("payments", 2.0),
        ("notifications", 1.0),
        ("web", 2.0),
        ("gateway", 1.0),
        ("prometheus", 1.0),
        ("alertmanager", 1.0),
    ]
    .into_iter()
    .map(|(job, n)| (job.to_owned(), n))
    .collect();
    let started = Instant::now();
    loop {
        let up: BTreeMap<String, f64> = stack
            .query("count by (job) (up == 1)")
            .into_iter()
            .map(|(labels, n)| (labels["job"].as_str().unwrap_or_default().to_owned(), n))
            .collect();
        let alertmanagers = stack.query("prometheus_notifications_alertmanagers_discovered");
        let rules = stack.query("sum(prometheus_rule_group_rules)");
        if up == wanted
            && alertmanagers.first().map(|s| s.1) == Some(1.0)
            && rules.first().is_some_and(|s| s.1 > 10.0)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Prometheus scrapes {up:?}, Alertmanagers {alertmanagers:?}, rules {rules:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!(
        "swarm test: every task scraped by the stack's Prometheus at {:?}",
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

    // A new release of catalog rolled out by scripts/deploy (what the
    // deploy workflow runs: one task at a time, each new one healthy
    // before an old one stops, then the smoke test) under steady reads:
    // it passes, and every read is answered.
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
    stack.release("catalog", &tag, "v2", "");
    let deployed = stack.deploy_script("v2", "catalog");
    assert!(
        deployed.status.success(),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    let image = stack.image("catalog");
    assert!(
        image.starts_with(&format!("{}/mercato-catalog:v2@sha256:", stack.registry)),
        "{image}"
    );
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

    // A release of cart that sets a default currency the shop does not
    // price in: healthy, so Swarm keeps it, but no guest can fill a cart.
    // scripts/deploy's smoke test fails and it rolls cart back to the
    // version before.
    eprintln!("swarm test: rolled back at {:?}", started_at.elapsed());
    let before = stack.image("cart");
    stack.release(
        "cart",
        &tag,
        "v3",
        "ENV MERCATO__CART__DEFAULT_CURRENCY=EUR\n",
    );
    let deployed = stack.deploy_script("v3", "cart");
    let log = String::from_utf8_lossy(&deployed.stderr);
    assert!(!deployed.status.success(), "{log}");
    assert!(log.contains("the smoke test failed: rolling back"), "{log}");
    assert!(log.contains("the previous version serves"), "{log}");
    assert_eq!(stack.image("cart"), before);
    let smoke = std::process::Command::new(common::swarm::repo().join("scripts/smoke"))
        .arg(&stack.gateway)
        .output()
        .unwrap();
    assert!(
        smoke.status.success(),
        "{}",
        String::from_utf8_lossy(&smoke.stderr)
    );

    // The whole stack removed and deployed again: the paid order is there.
    eprintln!(
        "swarm test: a bad release rolled back by scripts/deploy at {:?}",
        started_at.elapsed()
    );
    stack.remove().await;
    stack.stack_deploy();
    stack.wait_converged(Duration::from_secs(240)).await;
    wait_status(&gw, &order, token, "paid").await;
    eprintln!("swarm test: redeployed at {:?}", started_at.elapsed());

    autoscaling(&stack, &gw).await;
    eprintln!("swarm test: autoscaled at {:?}", started_at.elapsed());
}

/// The stack's autoscaler, turned on with the test's quick policy for
/// catalog (1 to 3 replicas, 15 requests per second per replica): with no
/// load it brings catalog down to its minimum; a steady load raises it to
/// its maximum, and no further, with every read answered; once the load
/// ends it comes back down to the minimum after the window, and no lower.
async fn autoscaling(stack: &SwarmStack, gw: &testkit::TestApp) {
    docker(&[
        "service",
        "scale",
        "-d",
        &format!("{}=1", stack.service("autoscaler")),
    ]);
    let watch = |goal: u32, timeout: Duration| {
        let started = Instant::now();
        let mut seen = BTreeSet::new();
        loop {
            let wanted = stack.wanted("catalog");
            seen.insert(wanted);
            if wanted == goal {
                return seen;
            }
            assert!(
                started.elapsed() < timeout,
                "catalog wanted {seen:?}, never {goal}\n{}",
                stack.tasks_report()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    // Idle: from the stack's two replicas to the minimum.
    let seen = tokio::task::block_in_place(|| watch(1, Duration::from_secs(90)));
    assert!(seen.iter().all(|n| (1..=2).contains(n)), "{seen:?}");
    // The task that goes has stopped before the load begins.
    let started = Instant::now();
    while stack.replicas("catalog") != (1, 1) || stack.containers("catalog").len() != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            stack.tasks_report()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // About 100 reads a second (four readers at 25 each), until catalog is
    // at its maximum and 15 s more.
    let stop = Arc::new(AtomicBool::new(false));
    let load_began = Instant::now();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, stop) = (
                gw.client.clone(),
                format!("{}/api/v1/products?limit=5", stack.gateway),
                stop.clone(),
            );
            let began = load_began;
            tokio::spawn(async move {
                let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
                let mut failures: Vec<String> = Vec::new();
                let mut tick = tokio::time::interval(Duration::from_millis(40));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let sent = began.elapsed();
                    let status = match client.get(&url).send().await {
                        Ok(r) => r.status().as_u16(),
                        Err(_) => 0,
                    };
                    if status != 200 {
                        failures.push(format!(
                            "{status} sent at {sent:.1?}, answered after {:.1?}",
                            began.elapsed() - sent
                        ));
                    }
                    *statuses.entry(status).or_default() += 1;
                }
                (statuses, failures)
            })
        })
        .collect();
    let seen = tokio::task::block_in_place(|| watch(3, Duration::from_secs(120)));
    assert!(seen.iter().all(|n| (1..=3).contains(n)), "{seen:?}");
    let at_maximum = load_began.elapsed();
    // At the maximum the load still asks for more: the limit holds.
    let held = Instant::now();
    while held.elapsed() < Duration::from_secs(15) {
        assert_eq!(stack.wanted("catalog"), 3);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let desired = stack.query(&format!(
        "autoscaler_signal_value{{service=\"{}\"}}",
        stack.service("catalog")
    ));
    assert!(
        desired.first().is_some_and(|s| s.1 > 15.0 * 1.1),
        "the signal at the maximum: {desired:?}"
    );
    stop.store(true, Ordering::Relaxed);
    let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    for reader in readers {
        let (counts, failed) = reader.await.unwrap();
        for (status, n) in counts {
            *statuses.entry(status).or_default() += n;
        }
        failures.extend(failed);
    }
    assert_eq!(
        statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "reads while scaling up: {statuses:?} (three wanted at {at_maximum:.1?}): {failures:?}"
    );

    // The load gone: back to the minimum once the window has passed.
    let ended = Instant::now();
    let seen = tokio::task::block_in_place(|| watch(1, Duration::from_secs(120)));
    assert!(seen.iter().all(|n| (1..=3).contains(n)), "{seen:?}");
    assert!(
        ended.elapsed() >= Duration::from_secs(15),
        "scaled down before the window: {:?}",
        ended.elapsed()
    );
    let settled = Instant::now();
    while settled.elapsed() < Duration::from_secs(8) {
        assert_eq!(stack.wanted("catalog"), 1);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Its own metrics, scraped by the stack's Prometheus, count the steps.
    let started = Instant::now();
    loop {
        let scalings: BTreeMap<String, f64> = stack
            .query(&format!(
                "autoscaler_scalings_total{{service=\"{}\"}}",
                stack.service("catalog")
            ))
            .into_iter()
            .map(|(labels, n)| {
                (
                    labels["direction"].as_str().unwrap_or_default().to_owned(),
                    n,
                )
            })
            .collect();
        if scalings.get("up").is_some_and(|n| *n >= 1.0)
            && scalings.get("down").is_some_and(|n| *n >= 2.0)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "autoscaler_scalings_total: {scalings:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
