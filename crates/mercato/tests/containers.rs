//! The Compose deployment on this machine's Docker engine (see
//! common::compose), driven through Traefik only. Needs the images of
//! `scripts/build-images` (`scripts/test` builds them when an engine is
//! there). Without an engine the test says so in one line and passes,
//! except under `CI=true`, where a missing engine is a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use common::{
    compose::{Stack, instance_urls},
    served, wait_routes,
};
use serde_json::json;
use testkit::{
    Backend, Target,
    shop::{cart_with, pay, place, product, wait_status},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_stack_serves_scales_survives_and_persists() {
    let Some(stack) = Stack::up(&[("MERCATO_DEMO_PRODUCTS", "25")]).await else {
        return;
    };
    let (project, gateway, etcd) = (&stack.project, stack.gateway.clone(), &stack.etcd);
    let local = testkit::spawn_targets(Backend::Sqlite, &[Target::Users], |_| {}).await;
    let gw = local.pointed_at(&gateway);

    // The documented demo seed, into the running stack.
    project.compose(&["run", "--rm", "seed"]);
    let seeded = gw.get("/api/v1/products?limit=100", None).await;
    assert_eq!(seeded.body["items"].as_array().unwrap().len(), 25);

    // The storefront, one more service behind the gateway, renders the
    // seeded shop from the API; the API's unknown paths stay its own.
    let newest = seeded.body["items"][0]["name"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let home = loop {
        let reply = reqwest::get(format!("{gateway}/")).await.unwrap();
        let html = reply
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
        let text = reply.text().await.unwrap();
        if html && text.contains(&newest) {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no storefront at /: {text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(home.contains("/static/"), "{home}");
    let unknown = gw.get("/api/v1/no-such-thing", None).await;
    unknown.problem(404);
    let page = reqwest::get(format!("{gateway}/no-such-page"))
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

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

    // The admin dashboard over the gateway: the overview counts the order
    // (the services' summary and inventory through Traefik), the list has it.
    let dashboard = admin_pages(&gateway, &["/admin", "/admin/orders?status=shipped"]).await;
    assert!(dashboard[0].contains("Checkout health"), "{}", dashboard[0]);
    let number = gw
        .get(&format!("/api/v1/orders/{order}"), Some(&admin))
        .await
        .body["number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(dashboard[1].contains(&number), "{}", dashboard[1]);

    // Three catalogs: all take requests, with no edit anywhere.
    project.compose(&["up", "-d", "--no-recreate", "--scale", "catalog=3"]);
    let started = Instant::now();
    let urls = loop {
        let urls = instance_urls(etcd, "catalog").await;
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

    // One catalog killed under steady load (a killed container answers
    // nothing, not even a reset): the gateway's health check takes it out
    // and reads that were waiting on it are sent to another, so no read
    // fails, and none waits much past the gateway's 3 s header timeout.
    let running = Arc::new(AtomicBool::new(true));
    let load = {
        let (client, gateway, running) = (reqwest::Client::new(), gateway.clone(), running.clone());
        tokio::spawn(async move {
            let mut results = Vec::new();
            while running.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let status = client
                    .get(format!("{gateway}/api/v1/products/box"))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                results.push((sent.elapsed(), status));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            results
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let victim = project.container_ids("catalog").pop().unwrap();
    project.docker(&["kill", &victim]);
    let started = Instant::now();
    while instance_urls(etcd, "catalog").await.len() != 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the killed instance stayed registered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.store(false, Ordering::Relaxed);
    let results = load.await.unwrap();
    let failed: Vec<u16> = results
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| *s != 200)
        .collect();
    let slowest = results.iter().map(|(d, _)| *d).max().unwrap_or_default();
    eprintln!(
        "{} reads through a catalog's kill: {} failed, slowest {slowest:?}",
        results.len(),
        failed.len()
    );
    assert!(results.len() > 50, "the load kept going");
    assert!(failed.is_empty(), "reads that failed: {failed:?}");
    assert!(
        slowest < Duration::from_secs(8),
        "a read waited {slowest:?}: the gateway's timeouts did not hold"
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

/// Signs in to the dashboard through the gateway as the test admin and
/// returns each page's HTML (each must answer 200).
async fn admin_pages(gateway: &str, paths: &[&str]) -> Vec<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = client
        .get(format!("{gateway}/admin/login"))
        .send()
        .await
        .unwrap();
    let cookie = session_pair(&login);
    let html = login.text().await.unwrap();
    let marker = "name=\"_csrf\" value=\"";
    let at = html.find(marker).unwrap() + marker.len();
    let csrf = &html[at..at + html[at..].find('"').unwrap()];
    let signed_in = client
        .post(format!("{gateway}/admin/login"))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", csrf),
            ("email", testkit::ADMIN_EMAIL),
            ("password", testkit::ADMIN_PASSWORD),
            ("next", "/admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = session_pair(&signed_in);
    let mut pages = Vec::new();
    for path in paths {
        let reply = client
            .get(format!("{gateway}{path}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "{path}");
        pages.push(reply.text().await.unwrap());
    }
    pages
}

/// `mercato_session=...` as a reply sets it, for the next request.
fn session_pair(reply: &reqwest::Response) -> String {
    reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mercato_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned()
}
