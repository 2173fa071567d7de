//! A fake of PayPal's REST API as the payments service uses it, kept in
//! the test tree (there is no local PayPal server to run). It follows
//! PayPal's documented requests, answers and error codes:
//!
//! - `POST /v1/oauth2/token`: client credentials over HTTP basic auth
//!   (401 `invalid_client` otherwise), `grant_type=client_credentials`;
//!   bearer tokens with an `expires_in`. Every other call needs a live
//!   token (401 `invalid_token`).
//! - Orders v2: `POST /v2/checkout/orders` (intent, purchase units with an
//!   amount whose `value` has the currency's decimals, else 400/422
//!   `INVALID_REQUEST`/`UNPROCESSABLE_ENTITY` with `details[].issue`),
//!   `PAYER_ACTION_REQUIRED` and a `payer-action` link; `GET` of an order
//!   (404 `RESOURCE_NOT_FOUND`); `POST .../capture` (422
//!   `ORDER_NOT_APPROVED`, `ORDER_ALREADY_CAPTURED`).
//! - `POST /v2/payments/captures/{id}/refund` (422
//!   `REFUND_AMOUNT_EXCEEDED`, `CAPTURE_FULLY_REFUNDED`).
//! - `PayPal-Request-Id`: a repeated id gets the first answer again.
//! - `POST /v1/notifications/verify-webhook-signature`: `SUCCESS` only for
//!   a transmission this fake sent, with its signature, to this webhook
//!   id, carrying the very event it sent; `FAILURE` otherwise.
//!
//! The buyer's approval (on paypal.com for real) is [`FakePaypal::approve`].
//! It can answer 429 or 5xx for a while, and send webhooks as PayPal does.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{Outage, Shared, hex_id, serve};

mod api;
use api::{capture_order, create_order, order_json, refund_capture, show_order, token, verify};

/// The webhook id the shop is configured with.
pub const WEBHOOK_ID: &str = "WH-MERCATO-TEST";

#[derive(Debug, Clone)]
struct Capture {
    id: String,
    status: &'static str,
    value: String,
    refunded_cents: i64,
}

#[derive(Debug, Clone)]
struct Order {
    id: String,
    status: &'static str,
    intent: String,
    currency: String,
    value: String,
    custom_id: String,
    decline: bool,
    capture: Option<Capture>,
}

#[derive(Default)]
struct Inner {
    client_id: String,
    client_secret: String,
    token_lifetime_secs: u64,
    tokens: HashMap<String, std::time::Instant>,
    token_requests: u32,
    outage: Outage,
    orders: HashMap<String, Order>,
    replies: HashMap<(String, String), (StatusCode, Value)>,
    transmissions: HashMap<String, (String, Value)>,
    captures: u32,
    refunds: Vec<Value>,
    webhook_url: Option<String>,
}

/// A running fake.
#[derive(Clone)]
pub struct FakePaypal {
    /// Its base URL (for `payments.paypal_base_url`).
    pub base: String,
    state: Shared<Inner>,
}

impl FakePaypal {
    /// Starts a fake that knows one REST app; tokens live `token_lifetime_secs`.
    pub async fn start(client_id: &str, client_secret: &str, token_lifetime_secs: u64) -> Self {
        let state: Shared<Inner> = Shared::default();
        {
            let mut inner = state.lock().expect("lock");
            inner.client_id = client_id.to_owned();
            inner.client_secret = client_secret.to_owned();
            inner.token_lifetime_secs = token_lifetime_secs;
        }
        let router = Router::new()
            .route("/v1/oauth2/token", post(token))
            .route("/v2/checkout/orders", post(create_order))
            .route("/v2/checkout/orders/{id}", get(show_order))
            .route("/v2/checkout/orders/{id}/capture", post(capture_order))
            .route("/v2/payments/captures/{id}/refund", post(refund_capture))
            .route("/v1/notifications/verify-webhook-signature", post(verify))
            .with_state(state.clone());
        let base = serve(router).await;
        Self { base, state }
    }

    /// The next `n` calls answer `status` (429, 500, 503, ...).
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut inner = self.state.lock().expect("lock");
        inner.outage = Outage {
            remaining: n,
            status,
        };
    }

    /// Sends `CHECKOUT.ORDER.APPROVED` and capture webhooks to `url`, as a
    /// PayPal app subscribed to them would.
    pub fn send_webhooks_to(&self, url: &str) {
        self.state.lock().expect("lock").webhook_url = Some(url.to_owned());
    }

    /// The buyer approves the order at PayPal (with a funding source that
    /// the capture will decline when `decline`).
    pub async fn approve(&self, order_id: &str, decline: bool) {
        let webhook = {
            let mut inner = self.state.lock().expect("lock");
            let order = inner.orders.get_mut(order_id).expect("order at PayPal");
            assert!(
                matches!(order.status, "CREATED" | "PAYER_ACTION_REQUIRED"),
                "approving an order in status {}",
                order.status
            );
            order.status = "APPROVED";
            order.decline = decline;
            let resource = order_json(order);
            inner.webhook_url.clone().map(|url| (url, resource))
        };
        if let Some((url, resource)) = webhook {
            self.send_webhook(&url, "CHECKOUT.ORDER.APPROVED", resource)
                .await;
        }
    }

    /// An order as PayPal shows it.
    pub fn order(&self, order_id: &str) -> Option<Value> {
        let inner = self.state.lock().expect("lock");
        inner.orders.get(order_id).map(order_json)
    }

    /// Captures made (replays of a `PayPal-Request-Id` not counted).
    pub fn captures(&self) -> u32 {
        self.state.lock().expect("lock").captures
    }

    /// Refunds made.
    pub fn refunds(&self) -> Vec<Value> {
        self.state.lock().expect("lock").refunds.clone()
    }

    /// Tokens issued.
    pub fn token_requests(&self) -> u32 {
        self.state.lock().expect("lock").token_requests
    }

    /// A webhook PayPal would send: its headers and body, signed (the
    /// fake's verify call will vouch for exactly this body).
    pub fn signed_webhook(
        &self,
        event_type: &str,
        resource: Value,
    ) -> (Vec<(String, String)>, String) {
        let transmission = uuid::Uuid::new_v4().to_string();
        let event = json!({
            "id": format!("WH-{}", hex_id(10).to_uppercase()),
            "event_version": "1.0",
            "create_time": "2026-11-26T12:00:00.000Z",
            "resource_type": if event_type.starts_with("CHECKOUT") { "checkout-order" } else { "capture" },
            "event_type": event_type,
            "summary": event_type,
            "resource": resource,
        });
        let signature = base64::engine::general_purpose::STANDARD.encode(hex_id(64));
        self.state
            .lock()
            .expect("lock")
            .transmissions
            .insert(transmission.clone(), (signature.clone(), event.clone()));
        let headers = vec![
            ("paypal-transmission-id".to_owned(), transmission),
            (
                "paypal-transmission-time".to_owned(),
                "2026-11-26T12:00:01Z".to_owned(),
            ),
            ("paypal-transmission-sig".to_owned(), signature),
            (
                "paypal-cert-url".to_owned(),
                "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270".to_owned(),
            ),
            ("paypal-auth-algo".to_owned(), "SHA256withRSA".to_owned()),
        ];
        (headers, event.to_string())
    }

    /// Signs and posts a webhook to `url`; returns the answer's status.
    pub async fn send_webhook(&self, url: &str, event_type: &str, resource: Value) -> u16 {
        let (headers, body) = self.signed_webhook(event_type, resource);
        post_webhook(url, &headers, body).await
    }
}

/// Posts a webhook as PayPal does; returns the answer's status.
pub async fn post_webhook(url: &str, headers: &[(String, String)], body: String) -> u16 {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}
