//! PayPal against the stateful fake of its REST API in the test tree
//! (`testkit::fakes::paypal`): create, approval, capture on return or by
//! webhook, refunds, duplicate requests, verified webhooks, retries and
//! an outage while opening.

use std::time::Duration;

use payments::providers::{
    NewPayment, PaymentProvider,
    paypal::{PaypalProvider, PaypalSettings},
};
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::{
    Backend, Config, TestApp,
    fakes::paypal::{FakePaypal, WEBHOOK_ID, post_webhook},
    on_both_backends,
    shop::{address, cart_with, payment_of, product, wait_status},
    spawn_with,
};
use uuid::Uuid;

on_both_backends!(
    a_paypal_checkout_is_approved_captured_on_return_and_refunded,
    paypal_webhooks_capture_an_approved_order_once_and_are_verified,
    paypal_outages_are_retried_and_a_declined_capture_fails_the_order,
);

const CLIENT_ID: &str = "AaMercatoClient";
const CLIENT_SECRET: &str = "EMercatoSecret";

async fn shop(backend: Backend, paypal: &FakePaypal, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let base = paypal.base.clone();
    spawn_with(backend, move |cfg| {
        cfg.payments.paypal_base_url = base;
        cfg.payments.paypal_client_id = Some(CLIENT_ID.into());
        cfg.payments.paypal_client_secret = Some(SecretString::from(CLIENT_SECRET));
        cfg.payments.paypal_webhook_id = Some(WEBHOOK_ID.into());
        cfg.payments.paypal_return_url =
            "https://shop.example/paypal/return?order={order_id}".into();
        cfg.payments.provider_timeout_ms = 2_000;
        cfg.payments.reopen_interval_ms = 200;
        cfg.orders.payment_providers = vec!["test".into(), "paypal".into()];
        adjust(cfg);
    })
    .await
}

/// A customer's order paid with PayPal, waiting for payment: (token,
/// order id).
async fn paypal_order(app: &TestApp, slug: &str, price: i64) -> (String, String) {
    let variants = product(app, slug, &[(price, 10)]).await;
    let customer = app.register(slug).await;
    let token = Some(customer.access.as_str());
    let cart = cart_with(app, token, &[(&variants[0], 1)]).await;
    let placed = app
        .post_with(
            "/api/v1/orders",
            token,
            &[("Idempotency-Key", slug)],
            &json!({"cart_id": cart, "shipping_address": address(), "payment_provider": "paypal"}),
        )
        .await;
    placed.expect(201);
    let order = placed.body["id"].as_str().unwrap().to_owned();
    wait_status(app, &order, token, "awaiting_payment").await;
    (customer.access, order)
}

/// Waits until the payment is open at PayPal; returns it and PayPal's
/// order id (the `token` of its approval link).
async fn opened(app: &TestApp, order: &str, token: &str) -> (Value, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let payment = payment_of(app, order, Some(token)).await;
        if let Some(link) = payment["approval_url"].as_str() {
            let reference = link.split("token=").nth(1).unwrap().to_owned();
            return (payment, reference);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never opened at PayPal: {payment}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_paypal_checkout_is_approved_captured_on_return_and_refunded(backend: Backend) {
    let paypal = FakePaypal::start(CLIENT_ID, CLIENT_SECRET, 3600).await;
    let app = shop(backend, &paypal, |_| {}).await;
    let (token, order) = paypal_order(&app, "paypal-return", 1999).await;
    let (payment, reference) = opened(&app, &order, &token).await;
    assert_eq!(payment["provider"], "paypal");
    assert_eq!(payment["status"], "pending");
    let at_paypal = paypal.order(&reference).unwrap();
    assert_eq!(at_paypal["intent"], "CAPTURE");
    assert_eq!(at_paypal["purchase_units"][0]["amount"]["value"], "19.99");
    assert_eq!(
        at_paypal["purchase_units"][0]["amount"]["currency_code"],
        "USD"
    );
    assert_eq!(at_paypal["purchase_units"][0]["custom_id"], order.as_str());

    let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
    // Back from PayPal before approving: nothing to capture yet.
    let early = app
        .post(&format!("{path}/confirm"), Some(&token), &json!({}))
        .await;
    let problem = early.problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("ORDER_NOT_APPROVED"),
        "{problem}"
    );
    paypal.approve(&reference, false).await;
    let captured = app
        .post(&format!("{path}/confirm"), Some(&token), &json!({}))
        .await;
    captured.expect(200);
    assert_eq!(captured.body["status"], "succeeded");
    wait_status(&app, &order, Some(&token), "paid").await;
    assert_eq!(paypal.captures(), 1);
    // Coming back twice captures nothing more.
    app.post(&format!("{path}/confirm"), Some(&token), &json!({}))
        .await
        .problem(409);
    assert_eq!(paypal.captures(), 1);

    let admin = app.admin_token().await;
    let refund = |key: &'static str, body: Value| {
        let app = &app;
        let admin = admin.clone();
        let path = path.clone();
        async move {
            app.post_with(
                &format!("{path}/refunds"),
                Some(&admin),
                &[("Idempotency-Key", key)],
                &body,
            )
            .await
        }
    };
    refund("paypal-r1", json!({"amount": 500}))
        .await
        .expect(201);
    // The same request again is answered from the first, not refunded twice.
    let replay = refund("paypal-r1", json!({"amount": 500})).await;
    replay.expect(201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    refund("paypal-r2", json!({})).await.expect(201);
    let values: Vec<Value> = paypal
        .refunds()
        .iter()
        .map(|r| r["amount"]["value"].clone())
        .collect();
    assert_eq!(values, vec![json!("5.00"), json!("14.99")]);
    assert_eq!(
        app.get(&path, Some(&token)).await.body["status"],
        "refunded"
    );
    // One token served every call (cached until it expires).
    assert_eq!(paypal.token_requests(), 1);
}

async fn paypal_webhooks_capture_an_approved_order_once_and_are_verified(backend: Backend) {
    let paypal = FakePaypal::start(CLIENT_ID, CLIENT_SECRET, 3600).await;
    let app = shop(backend, &paypal, |_| {}).await;
    let url = format!("{}/api/v1/webhooks/paypal", app.base);
    let (token, order) = paypal_order(&app, "paypal-hook", 2500).await;
    let (payment, reference) = opened(&app, &order, &token).await;

    // Not from PayPal: no transmission headers, or a body PayPal did not send.
    let unsigned = app
        .post(
            "/api/v1/webhooks/paypal",
            None,
            &json!({"id": "WH-1", "event_type": "CHECKOUT.ORDER.APPROVED"}),
        )
        .await;
    assert_eq!(unsigned.problem(400)["code"], "PAY-0004");
    let (headers, body) = paypal.signed_webhook(
        "PAYMENT.CAPTURE.COMPLETED",
        json!({"id": "CAP-1", "status": "COMPLETED",
               "supplementary_data": {"related_ids": {"order_id": reference}}}),
    );
    let forged = body.replace("CAP-1", "CAP-2");
    assert_eq!(post_webhook(&url, &headers, forged).await, 400);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
    assert_eq!(app.get(&path, Some(&token)).await.body["status"], "pending");

    // The buyer approves and never comes back: PayPal's
    // CHECKOUT.ORDER.APPROVED makes the shop capture.
    paypal.send_webhooks_to(&url);
    paypal.approve(&reference, false).await;
    wait_status(&app, &order, Some(&token), "paid").await;
    assert_eq!(paypal.captures(), 1);

    // The same event delivered again is handled once: nothing captured.
    let approved = paypal.order(&reference).unwrap();
    let (headers, body) = paypal.signed_webhook("CHECKOUT.ORDER.APPROVED", approved);
    assert_eq!(post_webhook(&url, &headers, body.clone()).await, 200);
    assert_eq!(post_webhook(&url, &headers, body).await, 200);
    // The buyer comes back after all: already captured, still paid.
    let back = app
        .post(&format!("{path}/confirm"), Some(&token), &json!({}))
        .await;
    back.problem(409);
    assert_eq!(paypal.captures(), 1);
    assert_eq!(
        app.get(&path, Some(&token)).await.body["status"],
        "succeeded"
    );
}

async fn paypal_outages_are_retried_and_a_declined_capture_fails_the_order(backend: Backend) {
    let paypal = FakePaypal::start(CLIENT_ID, CLIENT_SECRET, 3600).await;
    let app = shop(backend, &paypal, |cfg| cfg.payments.provider_attempts = 2).await;
    // Longer than one call's retries: the payment waits, pending and
    // unopened, and is opened once PayPal answers again.
    paypal.fail_next(5, 503);
    let (token, order) = paypal_order(&app, "paypal-outage", 1000).await;
    let (payment, reference) = opened(&app, &order, &token).await;
    assert_eq!(payment["status"], "pending");
    assert!(paypal.order(&reference).is_some());
    let status = app
        .get(&format!("/api/v1/orders/{order}"), Some(&token))
        .await;
    assert_eq!(status.body["status"], "awaiting_payment");

    // A 429 within one call's retries is not even noticed.
    paypal.fail_next(1, 429);
    paypal.approve(&reference, true).await;
    let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
    let declined = app
        .post(&format!("{path}/confirm"), Some(&token), &json!({}))
        .await;
    declined.expect(200);
    assert_eq!(declined.body["status"], "failed");
    assert_eq!(declined.body["failure_code"], "capture_declined");
    let cancelled = wait_status(&app, &order, Some(&token), "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "payment_failed");
}

/// A create repeated with the same `PayPal-Request-Id` (a retry after a
/// lost answer) opens one PayPal order, not two.
#[tokio::test]
async fn a_repeated_create_request_opens_one_paypal_order() {
    let paypal = FakePaypal::start(CLIENT_ID, CLIENT_SECRET, 1).await;
    let provider = PaypalProvider::new(PaypalSettings {
        base_url: paypal.base.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        webhook_id: WEBHOOK_ID.into(),
        return_url: "https://shop.example/r".into(),
        cancel_url: "https://shop.example/c".into(),
        timeout: Duration::from_secs(2),
        attempts: 1,
    })
    .unwrap();
    let order_id = Uuid::now_v7();
    let open = || {
        provider.create(NewPayment {
            payment_id: Uuid::now_v7(),
            order_id,
            amount: 1234,
            currency: "EUR",
            idempotency_key: format!("order-{order_id}"),
        })
    };
    let first = open().await.unwrap();
    // The token lives 1 s (renewed a minute early: every call renews it).
    let second = open().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        paypal.order(&first.reference).unwrap()["purchase_units"][0]["amount"]["value"],
        "12.34"
    );
    assert_eq!(paypal.token_requests(), 2);
    // Wrong credentials are refused, not retried.
    let wrong = PaypalProvider::new(PaypalSettings {
        client_secret: SecretString::from("nope"),
        base_url: paypal.base.clone(),
        client_id: CLIENT_ID.into(),
        webhook_id: WEBHOOK_ID.into(),
        return_url: String::new(),
        cancel_url: String::new(),
        timeout: Duration::from_secs(2),
        attempts: 3,
    })
    .unwrap();
    let refused = wrong
        .create(NewPayment {
            payment_id: Uuid::now_v7(),
            order_id: Uuid::now_v7(),
            amount: 100,
            currency: "EUR",
            idempotency_key: "k".into(),
        })
        .await;
    assert!(
        matches!(refused, Err(payments::providers::ProviderError::Refused(_))),
        "{refused:?}"
    );
}
