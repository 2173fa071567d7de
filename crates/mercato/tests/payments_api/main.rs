//! Black-box tests of the payments service over real HTTP, on SQLite and
//! PostgreSQL: access rules, confirmation, refunds and their limits.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

mod paypal;
mod stripe;

use std::sync::Arc;

use serde_json::{Value, json};
use testkit::{
    Backend, TestApp, on_both_backends,
    shop::{cart_with, pay, payment_of, place, product, wait_order, wait_status},
    spawn,
};

on_both_backends!(
    payments_are_seen_by_their_owner_and_admins_only,
    confirmation_takes_only_test_cards_of_a_pending_payment,
    refunds_are_partial_or_full_and_never_exceed_the_payment,
    a_refund_key_replays_the_first_refund,
    concurrent_refunds_never_return_more_than_was_taken,
    concurrent_refunds_with_one_key_refund_once,
    webhooks_of_unconfigured_providers_are_refused,
);

/// A paid order of a new customer: (app, customer token, order id, payment).
async fn paid_order(app: &TestApp, slug: &str, price: i64) -> (String, String, Value) {
    let variants = product(app, slug, &[(price, 10)]).await;
    let customer = app.register(slug).await;
    let token = Some(customer.access.as_str());
    let cart = cart_with(app, token, &[(&variants[0], 1)]).await;
    let placed = place(app, token, &cart, None, None).await;
    placed.expect(201);
    let order = placed.body["id"].as_str().unwrap().to_owned();
    wait_status(app, &order, token, "awaiting_payment").await;
    pay(app, &order, token, "4242424242424242")
        .await
        .expect(200);
    wait_status(app, &order, token, "paid").await;
    let payment = payment_of(app, &order, token).await;
    (customer.access, order, payment)
}

fn refund_path(payment: &Value) -> String {
    format!(
        "/api/v1/payments/{}/refunds",
        payment["id"].as_str().unwrap()
    )
}

async fn payments_are_seen_by_their_owner_and_admins_only(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let (token, order, payment) = paid_order(&app, "owner", 1000).await;
    let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
    let own = app.get(&path, Some(&token)).await;
    own.expect(200);
    assert_eq!(own.body["status"], "succeeded");
    assert_eq!(own.body["order_id"], order.as_str());
    assert_eq!(
        own.body["refunded_amount"],
        json!({"amount": 0, "currency": "USD"})
    );
    app.get(&path, Some(&admin)).await.expect(200);
    let stranger = app.register("stranger").await;
    app.get(&path, Some(&stranger.access)).await.problem(404);
    app.get(&path, None).await.problem(404);
    let theirs = app
        .get(
            &format!("/api/v1/payments?order_id={order}"),
            Some(&stranger.access),
        )
        .await;
    theirs.expect(200);
    assert_eq!(theirs.body["items"], json!([]));
    app.get("/api/v1/payments", Some(&token)).await.problem(422);
    app.get("/api/v1/payments?order_id=nope", Some(&token))
        .await
        .problem(422);
    app.get(
        &format!("/api/v1/payments/{}", uuid::Uuid::new_v4()),
        Some(&admin),
    )
    .await
    .problem(404);
}

async fn confirmation_takes_only_test_cards_of_a_pending_payment(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "card", &[(800, 10)]).await;
    let cart = cart_with(&app, None, &[(&variants[0], 1)]).await;
    let placed = place(&app, None, &cart, Some("g@example.com"), None).await;
    let order = placed.body["id"].as_str().unwrap().to_owned();
    let payment = payment_of(&app, &order, None).await;
    let confirm = format!(
        "/api/v1/payments/{}/confirm",
        payment["id"].as_str().unwrap()
    );
    let short = app
        .post(&confirm, None, &json!({"card_number": "4242"}))
        .await;
    assert_eq!(short.error_fields(), ["card_number"]);
    let unknown = app
        .post(
            &confirm,
            None,
            &json!({"card_number": "5555 5555 5555 4444"}),
        )
        .await;
    assert_eq!(unknown.error_fields(), ["card_number"]);
    app.post(&confirm, None, &json!({"card_number": "4242", "cvc": "1"}))
        .await
        .problem(422);
    let ok = app
        .post(
            &confirm,
            None,
            &json!({"card_number": "4242 4242 4242 4242"}),
        )
        .await;
    ok.expect(200);
    assert_eq!(ok.body["status"], "succeeded");
    wait_status(&app, &order, None, "paid").await;
}

async fn refunds_are_partial_or_full_and_never_exceed_the_payment(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let (token, order, payment) = paid_order(&app, "partial", 5000).await;
    let path = refund_path(&payment);
    // Customers do not refund.
    app.post(&path, Some(&token), &json!({"amount": 100}))
        .await
        .problem(403);
    let first = app
        .post(&path, Some(&admin), &json!({"amount": 1500}))
        .await;
    first.expect(201);
    assert_eq!(
        first.body["amount"],
        json!({"amount": 1500, "currency": "USD"})
    );
    assert_eq!(first.body["payment"]["status"], "partially_refunded");
    let too_much = app
        .post(&path, Some(&admin), &json!({"amount": 3501}))
        .await;
    assert_eq!(too_much.error_fields(), ["amount"]);
    app.post(&path, Some(&admin), &json!({"amount": 0}))
        .await
        .problem(422);
    // A partial refund leaves the order's payment succeeded.
    let order_now = app
        .get(&format!("/api/v1/orders/{order}"), Some(&token))
        .await;
    assert_eq!(order_now.body["payment_status"], "succeeded");
    // No amount: all that remains.
    let rest = app
        .call(reqwest::Method::POST, &path, Some(&admin), None)
        .await;
    rest.expect(201);
    assert_eq!(rest.body["amount"]["amount"], 3500);
    assert_eq!(rest.body["payment"]["status"], "refunded");
    assert_eq!(rest.body["payment"]["refunded_amount"]["amount"], 5000);
    // Nothing remains: a 422 on the amount, with or without one.
    let nothing_left = app.post(&path, Some(&admin), &json!({})).await;
    assert_eq!(nothing_left.problem(422)["errors"][0]["field"], "amount");
    let one_more = app.post(&path, Some(&admin), &json!({"amount": 1})).await;
    assert_eq!(one_more.problem(422)["errors"][0]["field"], "amount");
    wait_order(&app, &order, Some(&token), "refunded", |o| {
        o["payment_status"] == "refunded"
    })
    .await;
}

async fn a_refund_key_replays_the_first_refund(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let (_, _, payment) = paid_order(&app, "replay", 2000).await;
    let path = refund_path(&payment);
    let key = [("Idempotency-Key", "refund-1")];
    let first = app
        .post_with(&path, Some(&admin), &key, &json!({"amount": 500}))
        .await;
    first.expect(201);
    let again = app
        .post_with(&path, Some(&admin), &key, &json!({"amount": 500}))
        .await;
    again.expect(201);
    assert_eq!(again.text, first.text);
    let other = app
        .post_with(&path, Some(&admin), &key, &json!({"amount": 600}))
        .await;
    other.problem(422);
    let now = app
        .get(
            &format!("/api/v1/payments/{}", payment["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(now.body["refunded_amount"]["amount"], 500, "refunded once");
}

async fn concurrent_refunds_never_return_more_than_was_taken(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let admin = app.admin_token().await;
    let (_, _, payment) = paid_order(&app, "race", 1000).await;
    let path = refund_path(&payment);
    let attempts = (0..10).map(|i| {
        let (app, admin, path) = (app.clone(), admin.clone(), path.clone());
        async move {
            let key = format!("race-{i}");
            app.post_with(
                &path,
                Some(&admin),
                &[("Idempotency-Key", key.as_str())],
                &json!({"amount": 300}),
            )
            .await
        }
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    for reply in &replies {
        assert!(
            [201, 409, 422].contains(&reply.status.as_u16()),
            "{}",
            reply.text
        );
    }
    assert_eq!(
        created, 3,
        "three refunds of 300 fit in 1000, a fourth does not"
    );
    let now = app
        .get(
            &format!("/api/v1/payments/{}", payment["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(now.body["refunded_amount"]["amount"], 900);
    assert_eq!(now.body["status"], "partially_refunded");
}

async fn concurrent_refunds_with_one_key_refund_once(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let admin = app.admin_token().await;
    let (_, _, payment) = paid_order(&app, "onekey", 1000).await;
    let path = refund_path(&payment);
    let replies = testkit::burst(20, |_| {
        let (app, admin, path) = (app.clone(), admin.clone(), path.clone());
        async move {
            app.post_with(
                &path,
                Some(&admin),
                &[("Idempotency-Key", "double-click")],
                &json!({"amount": 250}),
            )
            .await
        }
    })
    .await;
    let created: std::collections::HashSet<&str> = replies
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.body["id"].as_str().unwrap())
        .collect();
    assert_eq!(created.len(), 1, "one refund, however many answers");
    assert_eq!(
        testkit::count_status(&replies, 201) + testkit::count_status(&replies, 409),
        20,
        "a replay or still in flight"
    );
    let now = app
        .get(
            &format!("/api/v1/payments/{}", payment["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(now.body["refunded_amount"]["amount"], 250);
}

async fn webhooks_of_unconfigured_providers_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    for provider in ["stripe", "paypal"] {
        let reply = app
            .post(
                &format!("/api/v1/webhooks/{provider}"),
                None,
                &json!({"id": "evt_1", "type": "payment_intent.succeeded"}),
            )
            .await;
        assert_eq!(reply.problem(400)["code"], "PAY-0004");
    }
}
