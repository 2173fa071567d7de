//! Stripe against localstripe (a real local server of Stripe's API from
//! PyPI): checkout to `paid` through Stripe's own signed webhook, a
//! declined card, refunds, manual capture, an outage while opening, and
//! webhook signatures (valid, tampered, stale, rotated, duplicate).

use std::time::Duration;

use payments::providers::stripe::{TOLERANCE_SECS, sign};
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::{
    Backend, Config, TestApp, free_port, on_both_backends,
    shop::{address, cart_with, payment_of, product, wait_order, wait_status},
    spawn_with,
    stripe::{LocalStripe, SECRET_KEY},
};

on_both_backends!(
    a_stripe_checkout_is_paid_through_stripes_webhook_and_refunded,
    a_declined_stripe_card_cancels_the_order,
    manual_capture_captures_an_authorised_payment_of_an_open_order,
    a_stripe_outage_leaves_the_payment_pending_until_stripe_answers,
    stripe_webhooks_are_verified_and_handled_once,
);

/// The secret Stripe signs with; the shop also holds an older one, as
/// while rotating.
const WEBHOOK_SECRET: &str = "whsec_mercato_new";

async fn shop(backend: Backend, stripe: &str, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let stripe = stripe.to_owned();
    spawn_with(backend, move |cfg| {
        cfg.payments.stripe_base_url = stripe;
        cfg.payments.stripe_secret_key = Some(SecretString::from(SECRET_KEY));
        cfg.payments.stripe_webhook_secret = Some(SecretString::from(format!(
            "whsec_mercato_old, {WEBHOOK_SECRET}"
        )));
        cfg.payments.provider_timeout_ms = 2_000;
        cfg.payments.reopen_interval_ms = 200;
        cfg.orders.payment_providers = vec!["test".into(), "stripe".into()];
        adjust(cfg);
    })
    .await
}

fn webhook_url(app: &TestApp) -> String {
    format!("{}/api/v1/webhooks/stripe", app.base)
}

/// A customer's order paid with Stripe, waiting for payment: (token,
/// order id, order total).
async fn stripe_order(app: &TestApp, slug: &str, price: i64) -> (String, String, i64) {
    let variants = product(app, slug, &[(price, 10)]).await;
    let customer = app.register(slug).await;
    let token = Some(customer.access.as_str());
    let cart = cart_with(app, token, &[(&variants[0], 2)]).await;
    let placed = app
        .post_with(
            "/api/v1/orders",
            token,
            &[("Idempotency-Key", slug)],
            &json!({"cart_id": cart, "shipping_address": address(), "payment_provider": "stripe"}),
        )
        .await;
    placed.expect(201);
    let order = placed.body["id"].as_str().unwrap().to_owned();
    let total = placed.body["total"]["amount"].as_i64().unwrap();
    wait_status(app, &order, token, "awaiting_payment").await;
    (customer.access, order, total)
}

/// Waits until the payment has been opened at Stripe (it has a secret).
async fn opened_payment(app: &TestApp, order: &str, token: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let payment = payment_of(app, order, Some(token)).await;
        if payment["client_secret"].is_string() {
            return payment;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the payment was never opened at Stripe: {payment}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn intent_of(payment: &Value) -> String {
    let secret = payment["client_secret"].as_str().unwrap();
    secret.split("_secret_").next().unwrap().to_owned()
}

async fn a_stripe_checkout_is_paid_through_stripes_webhook_and_refunded(backend: Backend) {
    let stripe = LocalStripe::start().await;
    let app = shop(backend, &stripe.base(), |_| {}).await;
    stripe
        .register_webhook(&webhook_url(&app), WEBHOOK_SECRET)
        .await;
    let (token, order, total) = stripe_order(&app, "stripe-paid", 1250).await;
    let payment = opened_payment(&app, &order, &token).await;
    assert_eq!(payment["provider"], "stripe");
    assert_eq!(payment["status"], "pending");

    // The intent is for the order's total, tagged with the order.
    let pi = intent_of(&payment);
    let intent = stripe.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(intent["amount"], total);
    assert_eq!(intent["currency"], "usd");
    assert_eq!(intent["capture_method"], "automatic");
    assert_eq!(intent["metadata"]["order_id"], order.as_str());

    // Only the customer's browser confirms a Stripe payment.
    let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
    let refused = app
        .post(&format!("{path}/confirm"), Some(&token), &json!({}))
        .await;
    assert_eq!(refused.problem(409)["code"], "PAY-0002");

    let (status, confirmed) = stripe.pay(&pi, "4242424242424242").await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["status"], "succeeded");
    // Stripe's signed payment_intent.succeeded makes the order paid.
    wait_status(&app, &order, Some(&token), "paid").await;

    let admin = app.admin_token().await;
    let partial = app
        .post_with(
            &format!("{path}/refunds"),
            Some(&admin),
            &[("Idempotency-Key", "stripe-refund-1")],
            &json!({"amount": 500}),
        )
        .await;
    partial.expect(201);
    let rest = app
        .post_with(
            &format!("{path}/refunds"),
            Some(&admin),
            &[("Idempotency-Key", "stripe-refund-2")],
            &json!({}),
        )
        .await;
    rest.expect(201);
    let refunds = stripe
        .get(&format!("/v1/refunds?payment_intent={pi}"))
        .await;
    let mut amounts: Vec<i64> = refunds["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .collect();
    amounts.sort_unstable();
    assert_eq!(amounts, vec![500, total - 500]);
    let after = app.get(&path, Some(&token)).await;
    assert_eq!(after.body["status"], "refunded");
    let too_much = app
        .post(
            &format!("{path}/refunds"),
            Some(&admin),
            &json!({"amount": 1}),
        )
        .await;
    assert_eq!(too_much.problem(422)["errors"][0]["field"], "amount");
}

async fn a_declined_stripe_card_cancels_the_order(backend: Backend) {
    let stripe = LocalStripe::start().await;
    let app = shop(backend, &stripe.base(), |_| {}).await;
    stripe
        .register_webhook(&webhook_url(&app), WEBHOOK_SECRET)
        .await;
    let (token, order, _) = stripe_order(&app, "stripe-declined", 900).await;
    let payment = opened_payment(&app, &order, &token).await;
    // Stripe's test card that attaches but is declined when charged.
    let (status, answer) = stripe.pay(&intent_of(&payment), "4000000000000341").await;
    assert_eq!(status, 402, "{answer}");
    assert_eq!(answer["error"]["code"], "card_declined");
    let cancelled = wait_status(&app, &order, Some(&token), "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "payment_failed");
    let failed = payment_of(&app, &order, Some(&token)).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_code"], "card_declined");
}

async fn manual_capture_captures_an_authorised_payment_of_an_open_order(backend: Backend) {
    let stripe = LocalStripe::start().await;
    let app = shop(backend, &stripe.base(), |cfg| {
        cfg.payments.stripe_capture = "manual".into();
    })
    .await;
    stripe
        .register_webhook(&webhook_url(&app), WEBHOOK_SECRET)
        .await;
    let (token, order, total) = stripe_order(&app, "stripe-manual", 700).await;
    let payment = opened_payment(&app, &order, &token).await;
    let pi = intent_of(&payment);
    assert_eq!(
        stripe.get(&format!("/v1/payment_intents/{pi}")).await["capture_method"],
        "manual"
    );
    let (status, authorised) = stripe.pay(&pi, "4242424242424242").await;
    assert_eq!(status, 200, "{authorised}");
    assert_eq!(authorised["status"], "requires_capture");
    // Stripe reports the authorisation with
    // payment_intent.amount_capturable_updated; localstripe sends no event
    // for it, so the test delivers Stripe's event, signed, with the
    // intent as localstripe shows it. The shop captures at localstripe.
    let event = json!({
        "id": "evt_capturable_1", "object": "event", "type": "payment_intent.amount_capturable_updated",
        "data": {"object": authorised},
    })
    .to_string();
    deliver(
        &app,
        &event,
        Some(&sign(event.as_bytes(), WEBHOOK_SECRET, now())),
    )
    .await
    .expect(200);
    wait_status(&app, &order, Some(&token), "paid").await;
    let intent = stripe.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["latest_charge"]["amount"], total);
    assert_eq!(intent["latest_charge"]["captured"], true);
}

async fn a_stripe_outage_leaves_the_payment_pending_until_stripe_answers(backend: Backend) {
    // Stripe is down (nothing listens there yet) when the stock is held.
    let port = free_port();
    let app = shop(backend, &format!("http://127.0.0.1:{port}"), |cfg| {
        cfg.payments.provider_attempts = 2;
    })
    .await;
    let (token, order, total) = stripe_order(&app, "stripe-outage", 400).await;
    let pending = payment_of(&app, &order, Some(&token)).await;
    assert_eq!(pending["status"], "pending");
    assert!(pending["client_secret"].is_null(), "{pending}");
    let path = format!("/api/v1/payments/{}", pending["id"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let waiting = app
        .get(&format!("/api/v1/orders/{order}"), Some(&token))
        .await;
    assert_eq!(waiting.body["status"], "awaiting_payment");

    // Stripe comes back: the payment is opened, once, and can be paid.
    let stripe = LocalStripe::start_on(port).await;
    stripe
        .register_webhook(&webhook_url(&app), WEBHOOK_SECRET)
        .await;
    let payment = opened_payment(&app, &order, &token).await;
    assert_eq!(payment["id"], pending["id"]);
    let intents = stripe.get("/v1/payment_intents").await;
    let for_order: Vec<&Value> = intents["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["metadata"]["order_id"] == order.as_str())
        .collect();
    assert_eq!(for_order.len(), 1, "{intents}");
    assert_eq!(for_order[0]["amount"], total);
    let (status, _) = stripe.pay(&intent_of(&payment), "4242424242424242").await;
    assert_eq!(status, 200);
    wait_status(&app, &order, Some(&token), "paid").await;
    assert_eq!(
        app.get(&path, Some(&token)).await.body["status"],
        "succeeded"
    );
}

fn now() -> i64 {
    platform::time::now_millis() / 1000
}

async fn deliver(app: &TestApp, body: &str, signature: Option<&str>) -> testkit::Reply {
    let headers: Vec<(&str, &str)> = signature
        .map(|s| ("Stripe-Signature", s))
        .into_iter()
        .collect();
    app.post_raw(
        "/api/v1/webhooks/stripe",
        &headers,
        body.as_bytes().to_vec(),
    )
    .await
}

async fn stripe_webhooks_are_verified_and_handled_once(backend: Backend) {
    // Stripe here sends no webhooks of its own: this test sends them.
    let stripe = LocalStripe::start().await;
    let app = shop(backend, &stripe.base(), |_| {}).await;
    let (token, order, total) = stripe_order(&app, "stripe-signed", 1100).await;
    let payment = opened_payment(&app, &order, &token).await;
    let pi = intent_of(&payment);
    let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
    let succeeded = json!({
        "id": "evt_succeeded_1", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": pi, "object": "payment_intent", "amount": total, "status": "succeeded"}},
    })
    .to_string();

    // Missing, tampered, stale, and signed with a secret we do not hold.
    let refused = deliver(&app, &succeeded, None).await;
    assert_eq!(refused.problem(400)["code"], "PAY-0004");
    let signature = sign(succeeded.as_bytes(), WEBHOOK_SECRET, now());
    let tampered = succeeded.replace("\"amount\":", "\"amount\":1");
    assert_eq!(
        deliver(&app, &tampered, Some(&signature))
            .await
            .problem(400)["code"],
        "PAY-0004"
    );
    let stale = sign(
        succeeded.as_bytes(),
        WEBHOOK_SECRET,
        now() - TOLERANCE_SECS - 5,
    );
    assert_eq!(
        deliver(&app, &succeeded, Some(&stale)).await.problem(400)["code"],
        "PAY-0004"
    );
    let foreign = sign(succeeded.as_bytes(), "whsec_someone_else", now());
    deliver(&app, &succeeded, Some(&foreign)).await.problem(400);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.get(&path, Some(&token)).await.body["status"], "pending");

    // Signed with the older of the two secrets (rotation): accepted.
    let rotated = sign(succeeded.as_bytes(), "whsec_mercato_old", now());
    deliver(&app, &succeeded, Some(&rotated)).await.expect(200);
    wait_status(&app, &order, Some(&token), "paid").await;

    // An event type we do not use is acknowledged.
    let other =
        json!({"id": "evt_other", "type": "customer.created", "data": {"object": {"id": "cus_1"}}})
            .to_string();
    deliver(
        &app,
        &other,
        Some(&sign(other.as_bytes(), WEBHOOK_SECRET, now())),
    )
    .await
    .expect(200);

    // A refund made in Stripe's dashboard is recorded once per event id.
    let refunded = |id: &str, amount: i64| {
        json!({"id": id, "type": "charge.refunded",
               "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": pi, "amount_refunded": amount}}})
        .to_string()
    };
    let first = refunded("evt_refund_1", 300);
    deliver(
        &app,
        &first,
        Some(&sign(first.as_bytes(), WEBHOOK_SECRET, now())),
    )
    .await
    .expect(200);
    // The same event id again, even with other contents: not acted on.
    let again = refunded("evt_refund_1", 600);
    deliver(
        &app,
        &again,
        Some(&sign(again.as_bytes(), WEBHOOK_SECRET, now())),
    )
    .await
    .expect(200);
    let after = app.get(&path, Some(&token)).await;
    assert_eq!(after.body["status"], "partially_refunded");
    assert_eq!(
        after.body["refunded_amount"]["amount"], 300,
        "{}",
        after.body
    );
    let paid_again = deliver(
        &app,
        &succeeded,
        Some(&sign(succeeded.as_bytes(), WEBHOOK_SECRET, now())),
    )
    .await;
    paid_again.expect(200);
    wait_order(&app, &order, Some(&token), "paid", |o| {
        o["status"] == "paid"
    })
    .await;
}
