//! PayPal, through the Orders v2 API: an order (intent `CAPTURE`) is
//! created when the stock is held and its approval link handed to the
//! customer; once the buyer has approved it at PayPal it is captured, when
//! the buyer comes back (`POST /payments/{id}/confirm`) or when PayPal's
//! `CHECKOUT.ORDER.APPROVED` webhook arrives, whichever is first.
//! Authentication is OAuth2 client credentials, the token kept until
//! shortly before it expires; every mutating call carries a
//! `PayPal-Request-Id`. Webhooks are verified the way PayPal documents:
//! by asking its `verify-webhook-signature` API about the transmission
//! headers and the raw event.

use contracts::checkout::Provider;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{
    Confirmation, Happened, NewPayment, OpenedPayment, Outcome, PaymentProvider, ProviderError,
    WebhookEvent, decimal,
    http::{Answer, Api},
};

/// A token is renewed this long before PayPal says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// How to reach PayPal.
#[derive(Debug, Clone)]
pub struct PaypalSettings {
    /// `https://api-m.paypal.com`, the sandbox, or a fake in tests.
    pub base_url: String,
    /// The REST app's client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: SecretString,
    /// The webhook's id at PayPal.
    pub webhook_id: String,
    /// Where the buyer returns after approving (`{order_id}` replaced).
    pub return_url: String,
    /// Where the buyer returns after cancelling (`{order_id}` replaced).
    pub cancel_url: String,
    /// Per call.
    pub timeout: Duration,
    /// Per call, on 429/5xx/no answer.
    pub attempts: u32,
}

/// The PayPal provider.
#[derive(Debug)]
pub struct PaypalProvider {
    api: Api,
    settings: PaypalSettings,
    token: Mutex<Option<(SecretString, Instant)>>,
}

impl PaypalProvider {
    /// A provider with these settings.
    pub fn new(settings: PaypalSettings) -> anyhow::Result<Self> {
        Ok(Self {
            api: Api::new("paypal", settings.timeout, settings.attempts)?,
            settings,
            token: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    /// A valid access token, from the cache or freshly issued.
    async fn token(&self) -> Result<SecretString, ProviderError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let url = self.url("/v1/oauth2/token");
        let answer = self
            .api
            .send("token", |client| {
                client
                    .post(&url)
                    .basic_auth(
                        &self.settings.client_id,
                        Some(self.settings.client_secret.expose_secret()),
                    )
                    .form(&[("grant_type", "client_credentials")])
            })
            .await?;
        let body = read("token", &answer)?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| ProviderError::Refused("paypal token: no access_token".into()))?;
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(0));
        let token = SecretString::from(token);
        *cached = Some((
            token.clone(),
            Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        ));
        Ok(token)
    }

    /// Calls the API with a bearer token; a 401 (token revoked early) is
    /// answered by one more try with a new token.
    async fn call(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        request_id: Option<&str>,
        body: Option<String>,
    ) -> Result<Answer, ProviderError> {
        let url = self.url(path);
        for fresh in [false, true] {
            if fresh {
                *self.token.lock().await = None;
            }
            let token = self.token().await?;
            let answer = self
                .api
                .send(what, |client| {
                    let mut request = client
                        .request(method.clone(), &url)
                        .bearer_auth(token.expose_secret())
                        .header("Prefer", "return=representation");
                    if let Some(id) = request_id {
                        request = request.header("PayPal-Request-Id", id);
                    }
                    match &body {
                        Some(body) => request
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(body.clone()),
                        None => request,
                    }
                })
                .await?;
            if answer.status != StatusCode::UNAUTHORIZED {
                return Ok(answer);
            }
        }
        Err(ProviderError::Refused(format!(
            "paypal {what}: 401 with a new token (check the client id and secret)"
        )))
    }

    async fn capture_order(&self, order: &str) -> Result<Outcome, ProviderError> {
        let answer = self
            .call(
                "capture",
                reqwest::Method::POST,
                &format!("/v2/checkout/orders/{order}/capture"),
                Some(&format!("capture-{order}")),
                Some("{}".into()),
            )
            .await?;
        match read("capture", &answer) {
            Ok(order) => Ok(capture_outcome(&order)),
            Err(e) if has_issue(&answer, "ORDER_ALREADY_CAPTURED") => {
                // Captured by the other path (webhook or return): read it.
                let order = self.order(order).await.map_err(|_| e)?;
                Ok(capture_outcome(&order))
            }
            Err(e) => Err(e),
        }
    }

    async fn order(&self, order: &str) -> Result<Value, ProviderError> {
        let answer = self
            .call(
                "get order",
                reqwest::Method::GET,
                &format!("/v2/checkout/orders/{order}"),
                None,
                None,
            )
            .await?;
        read("get order", &answer)
    }
}

/// Whether PayPal refused because of `name` (its `details[0].issue`).
fn has_issue(answer: &Answer, name: &str) -> bool {
    answer.json()["details"][0]["issue"].as_str() == Some(name)
}

fn read(what: &str, answer: &Answer) -> Result<Value, ProviderError> {
    let json = answer.json();
    if answer.status.is_success() {
        return Ok(json);
    }
    let name = json["name"]
        .as_str()
        .or_else(|| json["error"].as_str())
        .unwrap_or("unknown");
    let issue = json["details"][0]["issue"].as_str().unwrap_or("");
    let message = json["message"]
        .as_str()
        .or_else(|| json["error_description"].as_str())
        .unwrap_or("no message");
    Err(ProviderError::Refused(format!(
        "paypal {what}: {} {name} {issue}: {message}",
        answer.status.as_u16()
    )))
}

/// The first capture of an order: COMPLETED is money taken, DECLINED or
/// FAILED is a failure, anything else (PENDING) waits for the webhook.
fn capture_outcome(order: &Value) -> Outcome {
    match first_capture(order)["status"].as_str() {
        Some("COMPLETED") => Outcome::Succeeded,
        Some("DECLINED" | "FAILED") => Outcome::Failed("capture_declined".into()),
        _ => Outcome::Pending,
    }
}

fn first_capture(order: &Value) -> &Value {
    &order["purchase_units"][0]["payments"]["captures"][0]
}

/// The body that creates an order; the same for every attempt of one
/// order (its `PayPal-Request-Id` is the order).
fn create_body(payment: &NewPayment<'_>, settings: &PaypalSettings) -> Value {
    let order_id = payment.order_id.to_string();
    let fill = |url: &str| url.replace("{order_id}", &order_id);
    json!({
        "intent": "CAPTURE",
        "purchase_units": [{
            "reference_id": order_id,
            "custom_id": order_id,
            "amount": {
                "currency_code": payment.currency,
                "value": decimal(payment.amount, payment.currency),
            },
        }],
        "payment_source": {"paypal": {"experience_context": {
            "return_url": fill(&settings.return_url),
            "cancel_url": fill(&settings.cancel_url),
            "user_action": "PAY_NOW",
        }}},
    })
}

impl PaymentProvider for PaypalProvider {
    fn name(&self) -> Provider {
        Provider::Paypal
    }

    fn create<'a>(
        &'a self,
        payment: NewPayment<'a>,
    ) -> BoxFuture<'a, Result<OpenedPayment, ProviderError>> {
        Box::pin(async move {
            let body = create_body(&payment, &self.settings);
            let answer = self
                .call(
                    "create order",
                    reqwest::Method::POST,
                    "/v2/checkout/orders",
                    Some(&payment.idempotency_key),
                    Some(body.to_string()),
                )
                .await?;
            let order = read("create order", &answer)?;
            let reference = order["id"]
                .as_str()
                .ok_or_else(|| ProviderError::Refused("paypal create order: no id".into()))?;
            let approval_url = order["links"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| matches!(l["rel"].as_str(), Some("payer-action" | "approve")))
                .and_then(|l| l["href"].as_str())
                .ok_or_else(|| {
                    ProviderError::Refused("paypal create order: no approval link".into())
                })?;
            Ok(OpenedPayment {
                reference: reference.to_owned(),
                client_secret: None,
                approval_url: Some(approval_url.to_owned()),
            })
        })
    }

    fn confirm<'a>(
        &'a self,
        reference: &'a str,
        _confirmation: &'a Confirmation,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(async move { self.capture_order(reference).await })
    }

    fn capture<'a>(
        &'a self,
        reference: &'a str,
        _amount: i64,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(async move { self.capture_order(reference).await })
    }

    fn refund<'a>(
        &'a self,
        reference: &'a str,
        amount: i64,
        currency: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let order = self.order(reference).await?;
            let capture = first_capture(&order)["id"].as_str().ok_or_else(|| {
                ProviderError::Refused("paypal refund: the order has no capture".into())
            })?;
            let answer = self
                .call(
                    "refund",
                    reqwest::Method::POST,
                    &format!("/v2/payments/captures/{capture}/refund"),
                    Some(idempotency_key),
                    Some(
                        json!({"amount": {
                            "value": decimal(amount, currency),
                            "currency_code": currency,
                        }})
                        .to_string(),
                    ),
                )
                .await?;
            let refund = read("refund", &answer)?;
            refund["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| ProviderError::Refused("paypal refund: no id".into()))
        })
    }

    fn cancel<'a>(&'a self, _reference: &'a str) -> BoxFuture<'a, Result<(), ProviderError>> {
        // An order that was never captured holds no money and expires at
        // PayPal by itself; Orders v2 has no call to void it.
        Box::pin(async move { Ok(()) })
    }

    fn verify_webhook<'a>(
        &'a self,
        headers: &'a axum::http::HeaderMap,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<WebhookEvent>, ProviderError>> {
        Box::pin(async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .ok_or_else(|| ProviderError::Unverified(format!("no {name} header")))
            };
            let fields = json!({
                "auth_algo": header("paypal-auth-algo")?,
                "cert_url": header("paypal-cert-url")?,
                "transmission_id": header("paypal-transmission-id")?,
                "transmission_sig": header("paypal-transmission-sig")?,
                "transmission_time": header("paypal-transmission-time")?,
                "webhook_id": self.settings.webhook_id,
            });
            let event: Value = serde_json::from_slice(body)
                .map_err(|e| ProviderError::Unverified(format!("the body is not JSON: {e}")))?;
            let request = verification_request(&fields, body)?;
            let answer = self
                .call(
                    "verify webhook",
                    reqwest::Method::POST,
                    "/v1/notifications/verify-webhook-signature",
                    None,
                    Some(request),
                )
                .await?;
            let verdict = read("verify webhook", &answer)?;
            if verdict["verification_status"].as_str() != Some("SUCCESS") {
                return Err(ProviderError::Unverified(
                    "PayPal did not confirm the signature".into(),
                ));
            }
            Ok(read_event(&event))
        })
    }
}

/// The verification request with the event exactly as received: PayPal
/// checks the signature over the bytes it sent, so the event must not be
/// re-serialised (key order, number formats) on the way.
fn verification_request(fields: &Value, raw_event: &[u8]) -> Result<String, ProviderError> {
    let raw = std::str::from_utf8(raw_event)
        .map_err(|_| ProviderError::Unverified("the body is not UTF-8".into()))?;
    let fields = fields.to_string();
    Ok(format!(
        "{},\"webhook_event\":{raw}}}",
        fields.trim_end_matches('}')
    ))
}

fn read_event(event: &Value) -> Option<WebhookEvent> {
    let id = event["id"].as_str()?.to_owned();
    let resource = &event["resource"];
    let related_order = || resource["supplementary_data"]["related_ids"]["order_id"].as_str();
    let (reference, happened) = match event["event_type"].as_str()? {
        "CHECKOUT.ORDER.APPROVED" => (resource["id"].as_str()?, Happened::AwaitsCapture),
        "PAYMENT.CAPTURE.COMPLETED" => (related_order()?, Happened::Succeeded),
        "PAYMENT.CAPTURE.DENIED" => (related_order()?, Happened::Failed("capture_denied".into())),
        _ => return None,
    };
    Some(WebhookEvent {
        id,
        reference: reference.to_owned(),
        happened,
    })
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn settings() -> PaypalSettings {
        PaypalSettings {
            base_url: "http://127.0.0.1:1".into(),
            client_id: "id".into(),
            client_secret: SecretString::from("secret"),
            webhook_id: "WH-1".into(),
            return_url: "https://shop.example/return?order={order_id}".into(),
            cancel_url: "https://shop.example/cancel?order={order_id}".into(),
            timeout: Duration::from_secs(1),
            attempts: 1,
        }
    }

    #[test]
    fn an_order_is_created_for_the_exact_amount_with_the_return_urls() {
        let order_id = Uuid::now_v7();
        let body = create_body(
            &NewPayment {
                payment_id: Uuid::now_v7(),
                order_id,
                amount: 123_456,
                currency: "JPY",
                idempotency_key: format!("order-{order_id}"),
            },
            &settings(),
        );
        assert_eq!(body["intent"], "CAPTURE");
        assert_eq!(body["purchase_units"][0]["amount"]["value"], "123456");
        assert_eq!(body["purchase_units"][0]["custom_id"], order_id.to_string());
        let context = &body["payment_source"]["paypal"]["experience_context"];
        assert_eq!(
            context["return_url"],
            format!("https://shop.example/return?order={order_id}")
        );
    }

    #[test]
    fn the_event_is_passed_on_byte_for_byte() {
        let raw = br#"{"id":"WH-9","event_type":"X","resource":{"b":1.50,"a":2}}"#;
        let request = verification_request(&json!({"webhook_id": "WH-1"}), raw).unwrap_or_default();
        let raw_text = std::str::from_utf8(raw).unwrap_or_default();
        assert!(
            request.ends_with(&format!(r#","webhook_event":{raw_text}}}"#)),
            "{request}"
        );
        let parsed: Value = serde_json::from_str(&request).unwrap_or_default();
        assert_eq!(parsed["webhook_id"], "WH-1");
        assert_eq!(parsed["webhook_event"]["id"], "WH-9");
    }

    #[test]
    fn events_map_to_what_happened_to_the_payment() {
        let captured = json!({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",
            "resource": {"id": "CAP-1", "supplementary_data": {"related_ids": {"order_id": "ORDER-1"}}}});
        assert_eq!(
            read_event(&captured).map(|e| (e.reference, e.happened)),
            Some(("ORDER-1".into(), Happened::Succeeded))
        );
        let approved = json!({"id": "WH-2", "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"id": "ORDER-1"}});
        assert_eq!(
            read_event(&approved).map(|e| e.happened),
            Some(Happened::AwaitsCapture)
        );
        let other = json!({"id": "WH-3", "event_type": "BILLING.PLAN.CREATED", "resource": {}});
        assert_eq!(read_event(&other), None);
    }
}
