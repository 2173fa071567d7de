//! Distributed mode as processes on loopback: every service is its own
//! `mercato serve --target X` process on PostgreSQL (a schema each) and
//! NATS, registered in etcd, behind Traefik. The customer journey runs
//! through the gateway only; NATS restarts during checkouts lose and double
//! nothing; the whole stack stopped and started again keeps every order,
//! user and cart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes,
    reason = "a failed step fails the test loudly, in helpers too; child processes are reaped by their guards"
)]

mod common;

use std::time::{Duration, Instant};

use common::{
    processes::{Env, Stack},
    wait_routes,
};
use serde_json::json;
use testkit::{
    Backend, Target, TestApp,
    etcd::EtcdServer,
    nats::NatsServer,
    shop::{cart_with, pay, place, product, wait_status},
    traefik::Traefik,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_runs_through_the_gateway_over_separate_processes() {
    let mut nats = NatsServer::start();
    let etcd = EtcdServer::start().await;
    let traefik = Traefik::start(&etcd.url()).await;
    let data = tempfile::tempdir().unwrap();
    let prefix = format!("p{}_", uuid::Uuid::new_v4().simple());
    let env = Env {
        data: data.path(),
        prefix: &prefix,
        nats: nats.url(),
        etcd: etcd.url(),
        gateway: traefik.base.clone(),
        extra: Vec::new(),
    };
    let stack = Stack::start(&env).await;
    wait_routes(&traefik.base, Duration::from_secs(30)).await;
    // The test's own client, aimed at the gateway (its app only supplies
    // the configuration the helpers read).
    let local = testkit::spawn_targets(Backend::Postgres, &[Target::Users], |_| {}).await;
    let gw: TestApp = local.pointed_at(&traefik.base);

    // The journey, through the gateway only.
    let admin = gw.admin_token().await;
    let variants = product(&gw, "proc", &[(1500, 50)]).await;
    let ann = gw.register("ann").await;
    let token = Some(ann.access.as_str());
    let cart = cart_with(&gw, token, &[(&variants[0], 2)]).await;
    let order = place(&gw, token, &cart, None, Some("proc-1")).await;
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
        &json!({"carrier": "DHL", "tracking_number": "P1"}),
    )
    .await
    .expect(200);
    gw.post(
        &format!("/api/v1/orders/{order}/deliver"),
        Some(&admin),
        &json!({}),
    )
    .await
    .expect(200);
    let started = Instant::now();
    loop {
        let mails = gw.get("/api/v1/notifications", token).await;
        let templates: Vec<String> = mails.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["template"].as_str().unwrap().to_owned())
            .collect();
        if templates.len() >= 5 {
            for t in [
                "welcome",
                "order_placed",
                "order_paid",
                "order_shipped",
                "order_delivered",
            ] {
                assert!(templates.contains(&t.to_owned()), "{templates:?}");
            }
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{templates:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // NATS restarts while checkouts are under way: every order still ends.
    let mut orders = Vec::new();
    for i in 0..10 {
        let cart = cart_with(&gw, token, &[(&variants[0], 1)]).await;
        let placed = place(&gw, token, &cart, None, Some(&format!("nats-{i}"))).await;
        placed.expect(201);
        orders.push(placed.body["id"].as_str().unwrap().to_owned());
        if i == 4 {
            nats.stop();
            tokio::time::sleep(Duration::from_secs(1)).await;
            nats.resume();
        }
    }
    for order in &orders {
        wait_status(&gw, order, token, "awaiting_payment").await;
        pay(&gw, order, token, "4242424242424242").await.expect(200);
    }
    for order in &orders {
        wait_status(&gw, order, token, "paid").await;
    }
    let mine = gw.get("/api/v1/orders?limit=100", token).await;
    assert_eq!(
        mine.body["items"].as_array().unwrap().len(),
        11,
        "no order lost or doubled"
    );
    // `paid` is the orders service's word; the catalog sells the held units
    // when order.paid reaches it, a moment later.
    let started = Instant::now();
    loop {
        let stock = testkit::shop::stock(&gw, &admin, "PROC-0").await;
        if stock == (50 - 12, 0, 50 - 12) {
            break;
        }
        assert!(
            stock.0 >= 50 - 12 && started.elapsed() < Duration::from_secs(20),
            "each sold once: {stock:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Everything stopped and started again: nothing is lost.
    let open_cart = cart_with(&gw, token, &[(&variants[0], 3)]).await;
    stack.stop();
    let stack = Stack::start(&env).await;
    wait_routes(&traefik.base, Duration::from_secs(30)).await;
    let login = gw.login(&ann.email, testkit::GOOD_PASSWORD).await;
    login.expect(200);
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let mine = gw.get("/api/v1/orders?limit=100", Some(&token)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 11);
    let cart = gw
        .get(&format!("/api/v1/carts/{open_cart}"), Some(&token))
        .await;
    cart.expect(200);
    assert_eq!(cart.body["item_count"], 3);
    stack.stop();
}
