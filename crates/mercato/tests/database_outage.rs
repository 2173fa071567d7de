//! PostgreSQL stopped under a running shop (the test's own server, stopped
//! as a crash would): every service that needs it answers 503 with
//! `Retry-After` and a problem document, never a 500; readiness fails so a
//! gateway stops routing; once the database is back, so is the shop.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use testkit::{
    Backend,
    postgres::PostgresServer,
    shop::{address, cart_with, product},
    spawn_with,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_is_a_503_with_retry_after_until_it_is_back() {
    let mut pg = PostgresServer::start();
    let url = pg.url();
    let app = spawn_with(Backend::Postgres, |cfg| {
        cfg.database.url = Some(url.into());
    })
    .await;
    let admin = app.admin_token().await;
    let variants = product(&app, "outage", &[(1200, 10)]).await;
    let ada = app.register("outage").await;
    let token = Some(ada.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;

    pg.stop();
    let order_body =
        json!({"cart_id": cart, "shipping_address": address(), "payment_provider": "test"});
    let payments = format!("/api/v1/payments?order_id={}", uuid::Uuid::now_v7());
    let adjust = json!({"delta": 1, "reason": "count"});
    let customer = token;
    let admin = Some(admin.as_str());
    let calls: Vec<(Method, &str, Option<&str>, Option<&serde_json::Value>)> = vec![
        (Method::GET, "/api/v1/carts/mine", customer, None),
        (Method::POST, "/api/v1/carts", None, None),
        (Method::GET, "/api/v1/orders", customer, None),
        (Method::POST, "/api/v1/orders", customer, Some(&order_body)),
        (Method::GET, &payments, customer, None),
        (
            Method::POST,
            "/api/v1/inventory/OUTAGE-0/adjustments",
            admin,
            Some(&adjust),
        ),
        (Method::GET, "/api/v1/users/me", customer, None),
        (Method::GET, "/api/v1/notifications", customer, None),
    ];
    let calls = calls
        .into_iter()
        .map(|(method, path, token, body)| app.call(method, path, token, body));
    let replies = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(calls))
        .await
        .expect("answered while the database is down");
    for reply in &replies {
        // GEN-0503 from a service's own database, ORD-0003 from orders
        // when cart (whose database it is) cannot answer.
        let problem = reply.problem(503);
        assert!(
            ["GEN-0503", "ORD-0003"].contains(&problem["code"].as_str().unwrap()),
            "{}",
            reply.text
        );
        assert!(reply.header("retry-after").is_some(), "{}", reply.text);
        let text = reply.text.to_lowercase();
        assert!(
            !text.contains("postgres") && !text.contains("sqlx"),
            "{text}"
        );
    }
    app.get("/health/ready", None).await.problem(503);

    pg.resume();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mine = app.get("/api/v1/carts/mine", token).await;
        if mine.status == 200 {
            assert_eq!(mine.body["item_count"], 1, "the data survived");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", mine.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.get("/health/ready", None).await.expect(200);
}
