//! Shopping steps over HTTP, shared by the checkout tests: products with
//! stock, carts, orders, payments, and waiting for the saga.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Reply, TestApp};

/// How long the saga may take to reach a status in a test.
pub const SAGA_TIMEOUT: Duration = Duration::from_secs(20);

/// Creates a published product with one variant per `(price, stock)`;
/// returns the variant ids in order. SKUs are `<SLUG>-<i>` upper-cased.
pub async fn product(app: &TestApp, slug: &str, variants: &[(i64, i64)]) -> Vec<String> {
    let admin = app.admin_token().await;
    let body = json!({
        "slug": slug, "name": format!("Product {slug}"), "status": "published",
        "variants": variants.iter().enumerate().map(|(i, (price, stock))| json!({
            "sku": format!("{slug}-{i}").to_uppercase(), "title": format!("V{i}"),
            "price": {"amount": price, "currency": "USD"}, "stock": stock
        })).collect::<Vec<_>>(),
    });
    let reply = app.post("/api/v1/products", Some(&admin), &body).await;
    reply.expect(201);
    reply.body["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["id"].as_str().expect("variant id").to_owned())
        .collect()
}

/// A cart (a guest cart without a token) holding `lines` of `(variant, quantity)`.
pub async fn cart_with(app: &TestApp, token: Option<&str>, lines: &[(&str, i64)]) -> String {
    let reply = app.post("/api/v1/carts", token, &json!({})).await;
    assert!(reply.status.is_success(), "open cart: {}", reply.text);
    let cart = reply.body["id"].as_str().expect("cart id").to_owned();
    for (variant, quantity) in lines {
        app.post(
            &format!("/api/v1/carts/{cart}/items"),
            token,
            &json!({"variant_id": variant, "quantity": quantity}),
        )
        .await
        .expect(200);
    }
    cart
}

/// A valid shipping address.
pub fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"})
}

/// `POST /orders` for `cart` with the test provider; `email` for guests.
pub async fn place(
    app: &TestApp,
    token: Option<&str>,
    cart: &str,
    email: Option<&str>,
    key: Option<&str>,
) -> Reply {
    let mut body =
        json!({"cart_id": cart, "shipping_address": address(), "payment_provider": "test"});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    app.post_with("/api/v1/orders", token, &headers, &body)
        .await
}

/// Polls the order until `done` holds for it; panics after [`SAGA_TIMEOUT`].
pub async fn wait_order(
    app: &TestApp,
    order: &str,
    token: Option<&str>,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + SAGA_TIMEOUT;
    loop {
        let reply = app.get(&format!("/api/v1/orders/{order}"), token).await;
        reply.expect(200);
        if done(&reply.body) {
            return reply.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order {order} never became {what}: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the order to reach `status`.
pub async fn wait_status(app: &TestApp, order: &str, token: Option<&str>, status: &str) -> Value {
    wait_order(app, order, token, status, |o| o["status"] == status).await
}

/// Waits until the order's payment exists and returns it.
pub async fn payment_of(app: &TestApp, order: &str, token: Option<&str>) -> Value {
    let deadline = tokio::time::Instant::now() + SAGA_TIMEOUT;
    loop {
        let reply = app
            .get(&format!("/api/v1/payments?order_id={order}"), token)
            .await;
        reply.expect(200);
        if let Some(payment) = reply.body["items"].get(0) {
            return payment.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order {order} never got a payment"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pays the order's payment with `card`; returns the confirm reply.
pub async fn pay(app: &TestApp, order: &str, token: Option<&str>, card: &str) -> Reply {
    let payment = payment_of(app, order, token).await;
    let id = payment["id"].as_str().expect("payment id");
    app.post(
        &format!("/api/v1/payments/{id}/confirm"),
        token,
        &json!({"card_number": card}),
    )
    .await
}

/// `(on_hand, reserved, available)` of a SKU, read by an admin.
pub async fn stock(app: &TestApp, admin: &str, sku: &str) -> (i64, i64, i64) {
    let reply = app
        .get(&format!("/api/v1/inventory/{sku}"), Some(admin))
        .await;
    reply.expect(200);
    let b = &reply.body;
    (
        b["on_hand"].as_i64().expect("on_hand"),
        b["reserved"].as_i64().expect("reserved"),
        b["available"].as_i64().expect("available"),
    )
}
