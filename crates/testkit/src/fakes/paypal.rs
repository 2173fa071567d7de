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

fn error(status: StatusCode, name: &str, issue: &str, message: &str) -> Response {
    (
        status,
        Json(json!({
            "name": name,
            "message": message,
            "debug_id": hex_id(7),
            "details": [{"issue": issue, "description": message}],
            "links": [{"href": format!("https://developer.paypal.com/docs/api/orders/v2/#error-{issue}"), "rel": "information_link"}],
        })),
    )
        .into_response()
}

fn unprocessable(issue: &str, message: &str) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNPROCESSABLE_ENTITY",
        issue,
        message,
    )
}

/// Minor units of a PayPal amount value with exactly the decimals of its
/// currency (2 here; 0 for JPY and the like).
fn cents(value: &str, currency: &str) -> Option<i64> {
    let decimals = platform::money::minor_units(currency)? as usize;
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() == decimals
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (decimals == 0) != value.contains('.');
    ok.then(|| format!("{whole}{fraction}").parse().ok())
        .flatten()
}

/// The inverse of [`cents`].
fn value_of(cents: i64, currency: &str) -> String {
    let decimals = u32::from(platform::money::minor_units(currency).unwrap_or(2));
    if decimals == 0 {
        return cents.to_string();
    }
    let scale = 10i64.pow(decimals);
    format!(
        "{}.{:0width$}",
        cents / scale,
        cents % scale,
        width = decimals as usize
    )
}

fn order_json(order: &Order) -> Value {
    let mut unit = json!({
        "reference_id": order.custom_id,
        "custom_id": order.custom_id,
        "amount": {"currency_code": order.currency, "value": order.value},
    });
    if let Some(capture) = &order.capture {
        unit["payments"] = json!({"captures": [{
            "id": capture.id,
            "status": capture.status,
            "amount": {"currency_code": order.currency, "value": capture.value},
            "supplementary_data": {"related_ids": {"order_id": order.id}},
        }]});
    }
    json!({
        "id": order.id,
        "intent": order.intent,
        "status": order.status,
        "purchase_units": [unit],
        "links": [
            {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{}", order.id), "rel": "self", "method": "GET"},
            {"href": format!("https://www.sandbox.paypal.com/checkoutnow?token={}", order.id), "rel": "payer-action", "method": "GET"},
        ],
    })
}

/// The checks every API call shares: an injected outage, then a token.
fn gate(inner: &mut Inner, headers: &HeaderMap) -> Result<(), Response> {
    if let Some(status) = inner.outage.take() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Err(error(
            status,
            "SERVICE_UNAVAILABLE",
            "SERVICE_UNAVAILABLE",
            "Service Unavailable",
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let live = token
        .and_then(|t| inner.tokens.get(t))
        .is_some_and(|until| std::time::Instant::now() < *until);
    if live {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token", "error_description": "Token signature verification failed"})),
        )
            .into_response())
    }
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("paypal-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The first answer to this `PayPal-Request-Id` on this call, if any.
fn replay(inner: &Inner, call: &str, id: Option<&String>) -> Option<Response> {
    let (status, body) = inner.replies.get(&(call.to_owned(), id?.clone()))?;
    Some((*status, Json(body.clone())).into_response())
}

fn remember(
    inner: &mut Inner,
    call: &str,
    id: Option<String>,
    status: StatusCode,
    body: Value,
) -> Response {
    if let Some(id) = id {
        inner
            .replies
            .insert((call.to_owned(), id), (status, body.clone()));
    }
    (status, Json(body)).into_response()
}

async fn token(State(state): State<Shared<Inner>>, headers: HeaderMap, body: String) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Some(status) = inner.outage.take() {
        return StatusCode::from_u16(status)
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            .into_response();
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", inner.client_id, inner.client_secret))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "Client Authentication failed"})),
        )
            .into_response();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})),
        )
            .into_response();
    }
    inner.token_requests += 1;
    let token = format!("A21AA{}", hex_id(24));
    let lifetime = inner.token_lifetime_secs;
    inner.tokens.insert(
        token.clone(),
        std::time::Instant::now() + std::time::Duration::from_secs(lifetime),
    );
    Json(json!({
        "scope": "https://uri.paypal.com/services/payments/payment",
        "access_token": token,
        "token_type": "Bearer",
        "app_id": "APP-80W284485P519543T",
        "expires_in": lifetime,
        "nonce": hex_id(8),
    }))
    .into_response()
}

async fn create_order(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Err(refused) = gate(&mut inner, &headers) {
        return refused;
    }
    let rid = request_id(&headers);
    if let Some(first) = replay(&inner, "create", rid.as_ref()) {
        return first;
    }
    let intent = body["intent"].as_str().unwrap_or_default();
    if !matches!(intent, "CAPTURE" | "AUTHORIZE") {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "INVALID_PARAMETER_VALUE",
            "intent must be CAPTURE or AUTHORIZE",
        );
    }
    let unit = &body["purchase_units"][0];
    let currency = unit["amount"]["currency_code"].as_str().unwrap_or_default();
    let value = unit["amount"]["value"].as_str().unwrap_or_default();
    if unit.is_null() || currency.is_empty() || value.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "MISSING_REQUIRED_PARAMETER",
            "purchase_units[0].amount is required",
        );
    }
    if cents(value, currency).is_none_or(|c| c <= 0) {
        return unprocessable(
            "DECIMAL_PRECISION",
            "The value of the field should not be more than the currency's decimals",
        );
    }
    let order = Order {
        id: hex_id(9).to_uppercase(),
        status: if body["payment_source"]["paypal"].is_object() {
            "PAYER_ACTION_REQUIRED"
        } else {
            "CREATED"
        },
        intent: intent.to_owned(),
        currency: currency.to_owned(),
        value: value.to_owned(),
        custom_id: unit["custom_id"].as_str().unwrap_or_default().to_owned(),
        decline: false,
        capture: None,
    };
    let answer = order_json(&order);
    inner.orders.insert(order.id.clone(), order);
    remember(&mut inner, "create", rid, StatusCode::OK, answer)
}

async fn show_order(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Err(refused) = gate(&mut inner, &headers) {
        return refused;
    }
    match inner.orders.get(&id) {
        Some(order) => Json(order_json(order)).into_response(),
        None => not_found(),
    }
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
    )
}

async fn capture_order(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (answer, webhook) = {
        let mut inner = state.lock().expect("lock");
        if let Err(refused) = gate(&mut inner, &headers) {
            return refused;
        }
        let rid = request_id(&headers);
        if let Some(first) = replay(&inner, "capture", rid.as_ref()) {
            return first;
        }
        let Some(order) = inner.orders.get_mut(&id) else {
            return not_found();
        };
        match order.status {
            "APPROVED" => {}
            "COMPLETED" => {
                return unprocessable(
                    "ORDER_ALREADY_CAPTURED",
                    "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
                );
            }
            _ => {
                return unprocessable(
                    "ORDER_NOT_APPROVED",
                    "Payer has not yet approved the Order for payment.",
                );
            }
        }
        let capture = Capture {
            id: hex_id(9).to_uppercase(),
            status: if order.decline {
                "DECLINED"
            } else {
                "COMPLETED"
            },
            value: order.value.clone(),
            refunded_cents: 0,
        };
        order.status = "COMPLETED";
        let event = if order.decline {
            "PAYMENT.CAPTURE.DENIED"
        } else {
            "PAYMENT.CAPTURE.COMPLETED"
        };
        order.capture = Some(capture);
        let answer = order_json(order);
        let resource = answer["purchase_units"][0]["payments"]["captures"][0].clone();
        inner.captures += 1;
        let webhook = inner.webhook_url.clone().map(|url| (url, event, resource));
        (
            remember(&mut inner, "capture", rid, StatusCode::CREATED, answer),
            webhook,
        )
    };
    if let Some((url, event, resource)) = webhook {
        let fake = FakePaypal {
            base: String::new(),
            state: state.clone(),
        };
        tokio::spawn(async move {
            fake.send_webhook(&url, event, resource).await;
        });
    }
    answer
}

async fn refund_capture(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Err(refused) = gate(&mut inner, &headers) {
        return refused;
    }
    let rid = request_id(&headers);
    if let Some(first) = replay(&inner, "refund", rid.as_ref()) {
        return first;
    }
    let Some(order) = inner
        .orders
        .values_mut()
        .find(|o| o.capture.as_ref().is_some_and(|c| c.id == id))
    else {
        return not_found();
    };
    let currency = order.currency.clone();
    let Some(capture) = order.capture.as_mut() else {
        return not_found();
    };
    let total = cents(&capture.value, &currency).unwrap_or(0);
    let remaining = total - capture.refunded_cents;
    if capture.status != "COMPLETED" || remaining <= 0 {
        return unprocessable(
            "CAPTURE_FULLY_REFUNDED",
            "The capture has already been fully refunded",
        );
    }
    let wanted = match body.as_ref().map(|Json(b)| &b["amount"]) {
        Some(amount) if amount.is_object() => {
            if amount["currency_code"].as_str() != Some(currency.as_str()) {
                return unprocessable(
                    "CURRENCY_MISMATCH",
                    "Currency of refund must be the same as the currency of the capture",
                );
            }
            match amount["value"].as_str().and_then(|v| cents(v, &currency)) {
                Some(c) if c > 0 => c,
                _ => {
                    return unprocessable(
                        "DECIMAL_PRECISION",
                        "The amount's value is not a valid amount of the currency",
                    );
                }
            }
        }
        _ => remaining,
    };
    if wanted > remaining {
        return unprocessable(
            "REFUND_AMOUNT_EXCEEDED",
            "The refund amount must be less than or equal to the capture amount that has not yet been refunded",
        );
    }
    capture.refunded_cents += wanted;
    let refund = json!({
        "id": hex_id(9).to_uppercase(),
        "status": "COMPLETED",
        "amount": {"currency_code": currency, "value": value_of(wanted, &currency)},
    });
    inner.refunds.push(refund.clone());
    remember(&mut inner, "refund", rid, StatusCode::CREATED, refund)
}

async fn verify(
    State(state): State<Shared<Inner>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = state.lock().expect("lock");
    if let Err(refused) = gate(&mut inner, &headers) {
        return refused;
    }
    let fields = [
        "auth_algo",
        "cert_url",
        "transmission_id",
        "transmission_sig",
        "transmission_time",
        "webhook_id",
    ];
    if let Some(missing) = fields.iter().find(|f| !body[**f].is_string()) {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "MISSING_REQUIRED_PARAMETER",
            &format!("{missing} is required"),
        );
    }
    let genuine = body["webhook_id"] == WEBHOOK_ID
        && inner
            .transmissions
            .get(body["transmission_id"].as_str().unwrap_or_default())
            .is_some_and(|(sig, event)| {
                body["transmission_sig"].as_str() == Some(sig.as_str())
                    && &body["webhook_event"] == event
            });
    Json(json!({"verification_status": if genuine { "SUCCESS" } else { "FAILURE" }}))
        .into_response()
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
