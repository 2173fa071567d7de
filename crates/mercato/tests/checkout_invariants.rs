//! The checkout saga under load: 500 concurrent guest checkouts compete for
//! 100 units across 5 SKUs. Whatever the interleaving, exactly the orders
//! that got stock are paid (or cancelled by a declined card), every other
//! is cancelled, stock never goes negative, on hand + sold stays 100, no
//! payment exists without its order and none is taken twice. The second
//! test runs the catalog as its own `mercato` process on NATS and kills it
//! (SIGKILL: its relay and its consumer die mid-flight) halfway through.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes,
    reason = "a failed step fails the test loudly, in helpers too; child processes are reaped by their guards"
)]

mod common;

use std::{
    collections::{HashMap, HashSet},
    process::{Child, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{free_port, mercato_command, wait_ready};
use futures::StreamExt as _;
use serde_json::{Value, json};
use sqlx::Row as _;
use testkit::{Backend, Target, TestApp, on_both_backends, spawn, spawn_targets};

const SKUS: usize = 5;
const STOCK: i64 = 20;
const ORDERS: usize = 500;
const CONCURRENCY: usize = 64;
const GOOD_CARD: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";

on_both_backends!(
    five_hundred_checkouts_for_a_hundred_units,
    the_invariants_survive_a_killed_catalog,
);

/// Where the catalog answers: the app itself, or a separate process.
struct Shop {
    app: TestApp,
    catalog: String,
    admin: String,
    http: reqwest::Client,
}

impl Shop {
    async fn catalog_post(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.catalog))
            .bearer_auth(&self.admin)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn stock(&self, sku: &str) -> (i64, i64) {
        let r: Value = self
            .http
            .get(format!("{}/api/v1/inventory/{sku}", self.catalog))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            r["on_hand"].as_i64().unwrap(),
            r["reserved"].as_i64().unwrap(),
        )
    }
}

/// Creates the SKUs; returns their variant ids.
async fn stock_the_shop(shop: &Shop) -> Vec<String> {
    let variants = (0..SKUS)
        .map(|i| {
            json!({"sku": format!("INV-{i}"), "title": format!("V{i}"),
                   "price": {"amount": 1000 + i64::try_from(i).unwrap(), "currency": "USD"}, "stock": STOCK})
        })
        .collect::<Vec<_>>();
    let product = shop
        .catalog_post(
            "/api/v1/products",
            &json!({"slug": "inv", "name": "Invariant", "status": "published", "variants": variants}),
        )
        .await;
    product["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

/// One guest checkout from a filled cart to a final status; returns the
/// order id.
async fn checkout(app: &TestApp, cart: &str, card: &str) -> String {
    let key = uuid::Uuid::new_v4().to_string();
    let placed = retry_unavailable(|| {
        testkit::shop::place(app, None, cart, Some("load@example.com"), Some(&key))
    })
    .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let order = placed.body["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = app.get(&format!("/api/v1/orders/{order}"), None).await.body;
        match now["status"].as_str().unwrap() {
            "paid" | "cancelled" => return order,
            "awaiting_payment" if now["payment_status"] == "pending" => {
                let payment = now["payment_id"].as_str().unwrap();
                let reply = app
                    .post(
                        &format!("/api/v1/payments/{payment}/confirm"),
                        None,
                        &json!({"card_number": card}),
                    )
                    .await;
                // 409: voided or confirmed meanwhile; the order will say.
                assert!(
                    [200, 409].contains(&reply.status.as_u16()),
                    "{}",
                    reply.text
                );
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "order {order} stuck: {now}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Places again while the catalog (behind the cart) is briefly down.
async fn retry_unavailable<F, Fut>(mut attempt: F) -> testkit::Reply
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = testkit::Reply>,
{
    for _ in 0..200 {
        let reply = attempt().await;
        if reply.status != 503 {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("still unavailable");
}

/// Runs the load, calling `midway` once half the orders are final, then
/// checks every invariant.
async fn run(shop: &Shop, midway: impl std::future::Future<Output = ()>) {
    let variants = stock_the_shop(shop).await;
    // Every order carries an automatic 10 % off, which its payment charges.
    shop.app
        .post(
            "/api/v1/promotions",
            Some(&shop.admin),
            &json!({"name": "Ten off everything", "kind": "percentage", "value": 1000}),
        )
        .await
        .expect(201);
    // Every cart is filled while all stock is still free; then they all
    // check out at once.
    let carts = futures::stream::iter(0..ORDERS)
        .map(|i| {
            let variant = variants[i % SKUS].clone();
            async move { testkit::shop::cart_with(&shop.app, None, &[(&variant, 1)]).await }
        })
        .buffered(CONCURRENCY)
        .collect::<Vec<String>>()
        .await;
    let done = Arc::new(AtomicUsize::new(0));
    let checkouts = futures::stream::iter(carts.into_iter().enumerate())
        .map(|(i, cart)| {
            let app = &shop.app;
            let done = done.clone();
            // One in ten cards is declined, to exercise the release path.
            let card = if i % 10 == 7 { DECLINED } else { GOOD_CARD };
            async move {
                let order = checkout(app, &cart, card).await;
                done.fetch_add(1, Ordering::Relaxed);
                order
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<String>>();
    let midway = async {
        while done.load(Ordering::Relaxed) < ORDERS / 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        midway.await;
    };
    let (orders, ()) = tokio::join!(checkouts, midway);
    assert_eq!(orders.len(), ORDERS);
    assert_eq!(orders.iter().collect::<HashSet<_>>().len(), ORDERS);

    let mut sold: HashMap<String, i64> = HashMap::new();
    let mut paid = 0;
    let mut with_payment = HashSet::new();
    for order in &orders {
        let o = shop
            .app
            .get(&format!("/api/v1/orders/{order}"), None)
            .await
            .body;
        let payments = shop
            .app
            .get(&format!("/api/v1/payments?order_id={order}"), None)
            .await
            .body;
        let payments = payments["items"].as_array().unwrap();
        assert!(payments.len() <= 1, "one payment per order: {payments:?}");
        let line = o["items"][0]["line_total"]["amount"].as_i64().unwrap();
        let discount = (line * 1000 + 5000) / 10_000;
        assert_eq!(o["discount_total"]["amount"], discount, "{o}");
        assert_eq!(o["total"]["amount"], line - discount, "{o}");
        if let Some(p) = payments.first() {
            with_payment.insert(order.clone());
            assert_eq!(p["amount"], o["total"], "the order's amount, charged");
        }
        match (o["status"].as_str().unwrap(), o["cancel_reason"].as_str()) {
            ("paid", None) => {
                paid += 1;
                assert_eq!(payments[0]["status"], "succeeded");
                assert_eq!(o["payment_status"], "succeeded");
                let sku = o["items"][0]["sku"].as_str().unwrap().to_owned();
                *sold.entry(sku).or_default() += 1;
            }
            ("cancelled", Some("out_of_stock")) => {
                assert!(payments.is_empty(), "no payment for refused stock");
            }
            ("cancelled", Some("payment_failed")) => {
                assert_eq!(payments[0]["status"], "failed");
            }
            other => panic!("unexpected final state {other:?}: {o}"),
        }
    }
    let mut total_sold = 0;
    for i in 0..SKUS {
        let sku = format!("INV-{i}");
        let sold = sold.get(&sku).copied().unwrap_or(0);
        let (on_hand, reserved) = wait_settled(shop, &sku).await;
        assert_eq!(reserved, 0, "{sku}: nothing left held");
        assert_eq!(on_hand + sold, STOCK, "{sku}: on hand + sold is constant");
        total_sold += sold;
    }
    assert_eq!(total_sold, paid);
    assert!(
        paid >= 80,
        "declines release stock but the first takers got it: {paid} paid"
    );
    // No payment without its order, none twice.
    let payments_db = shop.app.database("payments").await;
    let rows = sqlx::query("select order_id, status from payment")
        .fetch_all(payments_db.pool())
        .await
        .unwrap();
    let known: HashSet<&String> = orders.iter().collect();
    let mut succeeded = 0;
    for row in &rows {
        let order: String = row.try_get("order_id").unwrap();
        assert!(known.contains(&order), "a payment without an order");
        if row.try_get::<String, _>("status").unwrap() == "succeeded" {
            succeeded += 1;
        }
    }
    assert_eq!(rows.len(), with_payment.len());
    assert_eq!(succeeded, paid, "no double charge");
}

/// Stock once the last sale has been booked (the last `order.paid` may
/// still be on its way when the last order reads `paid`).
async fn wait_settled(shop: &Shop, sku: &str) -> (i64, i64) {
    for _ in 0..400 {
        let levels = shop.stock(sku).await;
        if levels.1 == 0 {
            return levels;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    shop.stock(sku).await
}

/// Samples the catalog's stock table while `running` and fails on any
/// negative level.
async fn watch_for_negative_stock(db: platform::db::Db, running: Arc<AtomicBool>) -> usize {
    let mut samples = 0;
    while running.load(Ordering::Relaxed) {
        let bad: i64 = sqlx::query(
            "select count(*) as n from stock where on_hand < 0 or reserved < 0 or on_hand < reserved",
        )
        .fetch_one(db.pool())
        .await
        .map_or(0, |r| r.try_get("n").unwrap_or(0));
        assert_eq!(bad, 0, "stock went negative");
        samples += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    samples
}

async fn five_hundred_checkouts_for_a_hundred_units(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let catalog_db = app.database("catalog").await;
    let shop = Shop {
        catalog: app.base.clone(),
        app,
        admin,
        http: reqwest::Client::new(),
    };
    let running = Arc::new(AtomicBool::new(true));
    let watcher = tokio::spawn(watch_for_negative_stock(catalog_db, running.clone()));
    run(&shop, async {}).await;
    running.store(false, Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 0);
}

/// `mercato serve --target catalog` as its own process.
fn start_catalog(
    backend: Backend,
    port: u16,
    data: &std::path::Path,
    prefix: &str,
    nats: &str,
    jwks: &str,
) -> Child {
    let mut cmd = mercato_command();
    cmd.env("MERCATO__DATABASE__DATA_DIR", data)
        .env("MERCATO__EVENTBUS__NATS_URL", nats)
        .env("MERCATO__EVENTBUS__REDELIVERY_BACKOFF_MS", "50,100,200")
        .env("MERCATO__EVENTBUS__RELAY_MAX_BACKOFF_MS", "500")
        .env("MERCATO__AUTH__JWKS_URL", jwks)
        .env("MERCATO__TELEMETRY__FORMAT", "json")
        .env("MERCATO__CATALOG__DEMO_PRODUCTS", "0");
    if backend == Backend::Postgres {
        cmd.env("MERCATO__DATABASE__URL", testkit::postgres_url())
            .env("MERCATO__DATABASE__SCHEMA_PREFIX", prefix);
    }
    let log = std::fs::File::create(data.join("catalog.log")).unwrap();
    cmd.args([
        "serve",
        "--target",
        "catalog",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ])
    .stdout(log)
    .stderr(Stdio::null())
    .spawn()
    .unwrap()
}

async fn the_invariants_survive_a_killed_catalog(backend: Backend) {
    let nats = testkit::nats::NatsServer::start();
    let port = free_port();
    let catalog = format!("http://127.0.0.1:{port}");
    let app = spawn_targets(
        backend,
        &[
            Target::Users,
            Target::Pricing,
            Target::Cart,
            Target::Orders,
            Target::Payments,
        ],
        |cfg| {
            cfg.eventbus.nats_url = Some(nats.url());
            cfg.cart.catalog_url = Some(catalog.clone());
        },
    )
    .await;
    let data = tempfile::tempdir().unwrap();
    let prefix = format!("k{}_", uuid::Uuid::new_v4().simple());
    let jwks = format!("{}/.well-known/jwks.json", app.base);
    let first = start_catalog(backend, port, data.path(), &prefix, &nats.url(), &jwks);
    wait_ready(&catalog).await;
    let admin = app.admin_token().await;
    let catalog_db = {
        let mut cfg = app.config.database.clone();
        cfg.data_dir = data.path().to_path_buf();
        if backend == Backend::Postgres {
            cfg.schema_prefix = prefix.clone();
        }
        platform::db::Db::connect("catalog", None, &cfg)
            .await
            .unwrap()
    };
    let shop = Shop {
        app,
        catalog: catalog.clone(),
        admin,
        http: reqwest::Client::new(),
    };
    let running = Arc::new(AtomicBool::new(true));
    let watcher = tokio::spawn(watch_for_negative_stock(catalog_db, running.clone()));
    let mut first = Some(first);
    let restarted: std::sync::Mutex<Option<Child>> = std::sync::Mutex::new(None);
    run(&shop, async {
        let mut victim = first.take().unwrap();
        victim.kill().unwrap(); // SIGKILL: no drain, no goodbye
        victim.wait().unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = start_catalog(backend, port, data.path(), &prefix, &nats.url(), &jwks);
        *restarted.lock().unwrap() = Some(again);
        wait_ready(&catalog).await;
    })
    .await;
    running.store(false, Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 0);
    if let Some(mut child) = restarted.lock().unwrap().take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}
