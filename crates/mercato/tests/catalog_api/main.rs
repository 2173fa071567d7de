//! Black-box tests of the catalog service over real HTTP, each on SQLite
//! and on PostgreSQL, plus reservation tests against the service.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

mod categories;
mod inventory;
mod listing;
mod order_events;
mod products;
mod read_cache;
mod reservations;

use serde_json::{Value, json};
use testkit::TestApp;

/// A product body with one variant per (sku, price, stock).
pub fn product(slug: &str, name: &str, variants: &[(&str, i64, i64)]) -> Value {
    json!({
        "slug": slug,
        "name": name,
        "description": format!("{name}, made to last."),
        "status": "published",
        "images": ["https://img.example.com/a.jpg"],
        "attributes": {"material": "cotton"},
        "variants": variants.iter().map(|(sku, price, stock)| json!({
            "sku": sku, "title": sku, "options": {"size": "M"},
            "price": {"amount": price, "currency": "USD"}, "stock": stock
        })).collect::<Vec<_>>(),
    })
}

/// Creates a product as admin and returns it.
pub async fn create(app: &TestApp, admin: &str, body: &Value) -> Value {
    let reply = app.post("/api/v1/products", Some(admin), body).await;
    reply.expect(201);
    reply.body.clone()
}

/// Creates a category as admin and returns its id.
pub async fn category(app: &TestApp, admin: &str, slug: &str, parent: Option<&str>) -> String {
    let reply = app
        .post(
            "/api/v1/categories",
            Some(admin),
            &json!({"slug": slug, "name": slug, "parent_id": parent}),
        )
        .await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}
