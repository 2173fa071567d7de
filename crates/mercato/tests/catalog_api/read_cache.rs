//! The read cache never serves a stale price, stock level or status: every
//! catalog write, in this process or in another replica, retires it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::{Backend, Reply, TestApp, on_both_backends, shop, spawn, spawn_with};

use crate::{create, product};

on_both_backends!(
    cached_pages_follow_every_kind_of_catalog_write,
    a_reservation_shows_in_cached_pages_at_once,
);

/// Reads a page twice so that the second answer comes from the cache, and
/// checks both are the same document.
async fn read_twice(app: &TestApp, path: &str) -> Reply {
    let first = app.get(path, None).await;
    first.expect(200);
    let second = app.get(path, None).await;
    second.expect(200);
    assert_eq!(first.header("etag"), second.header("etag"), "{path}");
    assert_eq!(first.body, second.body, "{path}");
    second
}

fn first_variant(page: &Value) -> &Value {
    &page["items"][0]["variants"][0]
}

async fn cached_pages_follow_every_kind_of_catalog_write(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        &product("kettle", "Kettle", &[("KETTLE-1", 3000, 5)]),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let detail = "/api/v1/products/kettle";
    let list = "/api/v1/products?q=kettle";

    let before = read_twice(&app, detail).await;
    assert_eq!(before.body["variants"][0]["price"]["amount"], 3000);
    read_twice(&app, list).await;

    // A price change.
    app.patch(
        &format!("/api/v1/products/{id}"),
        Some(&admin),
        &json!({"variants": [{"sku": "KETTLE-1", "title": "Steel", "price": {"amount": 2700, "currency": "USD"}}]}),
    )
    .await
    .expect(200);
    let after = read_twice(&app, detail).await;
    assert_eq!(after.body["variants"][0]["price"]["amount"], 2700);
    assert_eq!(after.body["variants"][0]["title"], "Steel");
    assert_ne!(before.header("etag"), after.header("etag"));
    let page = read_twice(&app, list).await;
    assert_eq!(first_variant(&page.body)["price"]["amount"], 2700);

    // A stock adjustment.
    app.post(
        "/api/v1/inventory/KETTLE-1/adjustments",
        Some(&admin),
        &json!({"delta": 4, "reason": "delivery"}),
    )
    .await
    .expect(200);
    let stocked = read_twice(&app, detail).await;
    assert_eq!(stocked.body["variants"][0]["available"], 9);
    let page = read_twice(&app, list).await;
    assert_eq!(first_variant(&page.body)["available"], 9);

    // A new category, then the product moved into it: the category's page
    // (a list keyed by a query never seen before the move) shows it.
    let category = crate::category(&app, &admin, "kitchen", None).await;
    let by_category = format!("/api/v1/products?category={category}");
    let empty = read_twice(&app, &by_category).await;
    assert_eq!(empty.body["items"].as_array().unwrap().len(), 0);
    app.patch(
        &format!("/api/v1/products/{id}"),
        Some(&admin),
        &json!({"category_ids": [category]}),
    )
    .await
    .expect(200);
    let filled = read_twice(&app, &by_category).await;
    assert_eq!(filled.body["items"][0]["id"], id);

    // Archiving: the cached page turns into a 404 and the list forgets it.
    app.delete(&format!("/api/v1/products/{id}"), Some(&admin))
        .await
        .expect(204);
    app.get(detail, None).await.problem(404);
    let gone = read_twice(&app, list).await;
    assert_eq!(gone.body["items"].as_array().unwrap().len(), 0);
}

async fn a_reservation_shows_in_cached_pages_at_once(backend: Backend) {
    let app = spawn(backend).await;
    let variants = shop::product(&app, "teapot", &[(4500, 3)]).await;
    let detail = "/api/v1/products/teapot";
    assert_eq!(
        read_twice(&app, detail).await.body["variants"][0]["available"],
        3
    );
    let cart = shop::cart_with(&app, None, &[(&variants[0], 2)]).await;
    let order = shop::place(&app, None, &cart, Some("tea@example.com"), None).await;
    order.expect(201);
    let order_id = order.body["id"].as_str().unwrap();
    // The saga reserves after the order is placed; once the order says
    // so, the cached page must agree.
    shop::wait_status(&app, order_id, None, "awaiting_payment").await;
    assert_eq!(
        read_twice(&app, detail).await.body["variants"][0]["available"],
        1
    );
}

/// Two catalog replicas on one PostgreSQL database: what one writes, the
/// other's cached pages show within moments (through the database's change
/// notices), and keep showing.
#[tokio::test]
async fn a_write_through_one_replica_retires_the_other_replicas_pages() {
    let a = spawn(Backend::Postgres).await;
    let database = a.config.database.clone();
    let b = spawn_with(Backend::Postgres, move |cfg| cfg.database = database).await;
    let admin = a.admin_token().await;
    let created = create(&a, &admin, &product("mug", "Mug", &[("MUG-1", 1200, 7)])).await;
    let id = created["id"].as_str().unwrap();
    let detail = "/api/v1/products/mug";
    let list = "/api/v1/products?q=mug";
    assert_eq!(
        read_twice(&b, detail).await.body["variants"][0]["price"]["amount"],
        1200
    );
    read_twice(&b, list).await;

    a.patch(
        &format!("/api/v1/products/{id}"),
        Some(&admin),
        &json!({"variants": [{"sku": "MUG-1", "title": "Mug", "price": {"amount": 990, "currency": "USD"}}]}),
    )
    .await
    .expect(200);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = b.get(detail, None).await;
        if page.body["variants"][0]["price"]["amount"] == 990 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replica b still serves {}",
            page.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let page = read_twice(&b, list).await;
    assert_eq!(first_variant(&page.body)["price"]["amount"], 990);
}
