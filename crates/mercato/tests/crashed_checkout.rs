//! A checkout whose process dies between claiming its `Idempotency-Key`
//! and committing the order: the shop runs as a real `mercato serve`
//! process on PostgreSQL, the test holds a lock on the orders table so the
//! order's insert waits, SIGKILLs the process while it waits, and starts it
//! again. A client that retries with the same key (as the contract tells it
//! to) gets 409 "in flight" only until the claim's lease has run out, then
//! exactly one order, and the same answer on every later retry. The order
//! carries a code limited to one use: the killed attempt took none (its
//! use was in the transaction that died), the retry takes the one.
//! (PostgreSQL only: the claim and the order live in one SQLite file, where
//! no lock can hold one and not the other.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes,
    reason = "a failed step fails the test loudly, in helpers too; child processes are reaped by their guards"
)]

mod common;

use std::{
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use common::{free_port, mercato_command, wait_ready};
use serde_json::{Value, json};
use sqlx::{Connection as _, Row as _};
use testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, GOOD_PASSWORD};

/// The request timeout of the shop under test: its claims' lease is this
/// and 5 seconds.
const REQUEST_TIMEOUT_SECS: &str = "2";

fn start_shop(port: u16, prefix: &str, data: &std::path::Path) -> Child {
    mercato_command()
        .env("MERCATO__DATABASE__URL", testkit::postgres_url())
        .env("MERCATO__DATABASE__SCHEMA_PREFIX", prefix)
        .env("MERCATO__DATABASE__DATA_DIR", data)
        .env("MERCATO__HTTP__REQUEST_TIMEOUT_SECS", REQUEST_TIMEOUT_SECS)
        .env("MERCATO__USERS__ADMIN_EMAIL", ADMIN_EMAIL)
        .env("MERCATO__USERS__ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("MERCATO__USERS__ARGON2_MEMORY_KIB", "256")
        .env("MERCATO__USERS__ARGON2_ITERATIONS", "1")
        .env("MERCATO__CATALOG__DEMO_PRODUCTS", "0")
        .env("MERCATO__TELEMETRY__FILTER", "warn")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    key: Option<&str>,
    body: &Value,
) -> (u16, String) {
    let mut request = client.request(method, url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let reply = request.send().await.unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

fn token(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_crash_between_claim_and_commit_places_exactly_one_order() {
    let prefix = format!("t{}_", uuid::Uuid::new_v4().simple());
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut shop = start_shop(port, &prefix, data.path());
    wait_ready(&base).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let post = reqwest::Method::POST;

    let (_, login) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/auth/login"),
        None,
        None,
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    let admin = token(&login);
    let (status, created) = call(&client, post.clone(), format!("{base}/api/v1/products"), Some(&admin), None,
        &json!({"slug": "kettle", "name": "Kettle", "status": "published", "variants": [
            {"sku": "KETTLE-1", "title": "Steel", "price": {"amount": 3900, "currency": "USD"}, "stock": 5}]})).await;
    assert_eq!(status, 201, "{created}");
    let variant = serde_json::from_str::<Value>(&created).unwrap()["variants"][0]["id"].clone();
    let (status, registered) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/auth/register"),
        None,
        None,
        &json!({"email": "crash@test.mercato.dev", "password": GOOD_PASSWORD, "name": "Crash"}),
    )
    .await;
    assert_eq!(status, 201, "{registered}");
    let customer = token(&registered);
    let (_, cart) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/carts"),
        Some(&customer),
        None,
        &json!({}),
    )
    .await;
    let cart_id = serde_json::from_str::<Value>(&cart).unwrap()["id"].clone();
    let (status, added) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/carts/{}/items", cart_id.as_str().unwrap()),
        Some(&customer),
        None,
        &json!({"variant_id": variant, "quantity": 2}),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    let (status, promotion) = call(&client, post.clone(), format!("{base}/api/v1/promotions"), Some(&admin), None,
        &json!({"code": "ONCE", "name": "Once", "kind": "percentage", "value": 1000, "usage_limit": 1})).await;
    assert_eq!(status, 201, "{promotion}");
    let (status, applied) = call(
        &client,
        post.clone(),
        format!(
            "{base}/api/v1/carts/{}/promotions",
            cart_id.as_str().unwrap()
        ),
        Some(&customer),
        None,
        &json!({"code": "once"}),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    let order = json!({"cart_id": cart_id, "payment_provider": "test", "shipping_address": testkit::shop::address()});

    // The order's insert waits for this lock; the claim before it does not.
    let schema = format!("{prefix}orders");
    let mut locker = sqlx::PgConnection::connect(&testkit::postgres_url())
        .await
        .unwrap();
    sqlx::query("begin").execute(&mut locker).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "lock table \"{schema}\".orders in exclusive mode"
    )))
    .execute(&mut locker)
    .await
    .unwrap();
    let first = {
        let (client, url, customer, order) = (
            client.clone(),
            format!("{base}/api/v1/orders"),
            customer.clone(),
            order.clone(),
        );
        tokio::spawn(async move {
            let _ = client
                .post(url)
                .bearer_auth(customer)
                .header("Idempotency-Key", "crash-1")
                .json(&order)
                .send()
                .await;
        })
    };
    let mut watcher = sqlx::PgConnection::connect(&testkit::postgres_url())
        .await
        .unwrap();
    let claimed = Instant::now();
    loop {
        let waiting: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select (select count(*) from \"{schema}\".idempotency_key where state = 'in_flight') \
             * (select count(*) from pg_locks where not granted and relation = '\"{schema}\".orders'::regclass) as n"
        )))
        .fetch_one(&mut watcher)
        .await
        .unwrap()
        .get("n");
        if waiting > 0 {
            break;
        }
        assert!(
            claimed.elapsed() < Duration::from_secs(10),
            "the checkout never reached the insert"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shop.kill().unwrap(); // SIGKILL: between claim and commit
    shop.wait().unwrap();
    sqlx::query("rollback").execute(&mut locker).await.unwrap();
    let _ = first.await;

    let mut shop = start_shop(port, &prefix, data.path());
    wait_ready(&base).await;
    let retry = || {
        call(
            &client,
            reqwest::Method::POST,
            format!("{base}/api/v1/orders"),
            Some(&customer),
            Some("crash-1"),
            &order,
        )
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (placed, body) = loop {
        let (status, body) = retry().await;
        match status {
            201 => break (status, body),
            // Still held by the dead claim until its lease runs out.
            409 => assert!(
                Instant::now() < deadline,
                "the key stayed in flight: {body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(placed, 201);
    let placed_order: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(placed_order["discount_total"]["amount"], 780, "{body}");
    assert_eq!(placed_order["total"]["amount"], 7800 - 780);
    assert!(
        claimed.elapsed() >= Duration::from_millis(6500),
        "taken over only after the lease"
    );
    let (again, replay) = retry().await;
    assert_eq!(
        (again, replay.as_str()),
        (201, body.as_str()),
        "a later retry replays"
    );
    let (_, mine) = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/api/v1/orders"),
        Some(&customer),
        None,
        &json!(null),
    )
    .await;
    let mine: Value = serde_json::from_str(&mine).unwrap();
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        1,
        "exactly one order: {mine}"
    );
    let orders: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select count(*) as n from \"{schema}\".orders"
    )))
    .fetch_one(&mut watcher)
    .await
    .unwrap()
    .get("n");
    assert_eq!(orders, 1);
    // One use in the ledger: the killed attempt left none behind.
    let used: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select used from \"{schema}\".promotion_uses"
    )))
    .fetch_one(&mut watcher)
    .await
    .unwrap()
    .get("used");
    assert_eq!(used, 1);
    let _ = shop.kill();
    let _ = shop.wait();
}
