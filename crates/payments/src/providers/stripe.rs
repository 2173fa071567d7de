//! Stripe, through PaymentIntents: opened when the order's stock is held
//! (`automatic_payment_methods`, the order id in its metadata), confirmed
//! by the customer's browser with the `client_secret`, reported back by
//! webhook. Requests are form-encoded with the API version pinned and an
//! `Idempotency-Key` on every one that changes something.
//!
//! Webhooks are trusted only with a `Stripe-Signature` whose timestamp is
//! within five minutes and one of whose `v1` signatures is the HMAC-SHA256
//! of `timestamp.raw_body` under one of the configured signing secrets
//! (several while rotating), compared in constant time.

use contracts::checkout::Provider;
use std::time::Duration;

use aws_lc_rs::hmac;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{
    Confirmation, Happened, NewPayment, OpenedPayment, Outcome, PaymentProvider, ProviderError,
    WebhookEvent,
    http::{Answer, Api},
};

/// The API version every request asks for, so that Stripe's upgrades do
/// not change the shapes read here.
pub const API_VERSION: &str = "2024-06-20";

/// How old (or how far in the future) a webhook's timestamp may be.
pub const TOLERANCE_SECS: i64 = 300;

/// How to reach Stripe.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `https://api.stripe.com`, or a local server in tests.
    pub base_url: String,
    /// `sk_...`.
    pub secret_key: SecretString,
    /// Webhook signing secrets (`whsec_...`), any of which may sign.
    pub webhook_secrets: Vec<SecretString>,
    /// Authorise at confirmation, capture separately.
    pub manual_capture: bool,
    /// Per call.
    pub timeout: Duration,
    /// Per call, on 429/5xx/no answer.
    pub attempts: u32,
}

/// The Stripe provider.
#[derive(Debug)]
pub struct StripeProvider {
    api: Api,
    settings: StripeSettings,
}

impl StripeProvider {
    /// A provider with these settings.
    pub fn new(settings: StripeSettings) -> anyhow::Result<Self> {
        Ok(Self {
            api: Api::new("stripe", settings.timeout, settings.attempts)?,
            settings,
        })
    }

    async fn post(
        &self,
        what: &str,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, String)],
    ) -> Result<Value, ProviderError> {
        let url = format!("{}{path}", self.settings.base_url.trim_end_matches('/'));
        let answer = self
            .api
            .send(what, |client| {
                client
                    .post(&url)
                    .bearer_auth(self.settings.secret_key.expose_secret())
                    .header("Stripe-Version", API_VERSION)
                    .header("Idempotency-Key", idempotency_key)
                    .form(form)
            })
            .await?;
        read(what, &answer)
    }
}

/// A 2xx's JSON, or the refusal Stripe explained.
fn read(what: &str, answer: &Answer) -> Result<Value, ProviderError> {
    let json = answer.json();
    if answer.status.is_success() {
        return Ok(json);
    }
    let error = &json["error"];
    let code = error["decline_code"]
        .as_str()
        .or_else(|| error["code"].as_str())
        .unwrap_or("unknown");
    let message = error["message"].as_str().unwrap_or("no message");
    Err(ProviderError::Refused(format!(
        "stripe {what}: {} {code}: {message}",
        answer.status.as_u16()
    )))
}

fn text(value: &Value, what: &str) -> Result<String, ProviderError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::Refused(format!("stripe answered without {what}")))
}

impl PaymentProvider for StripeProvider {
    fn name(&self) -> Provider {
        Provider::Stripe
    }

    fn create<'a>(
        &'a self,
        payment: NewPayment<'a>,
    ) -> BoxFuture<'a, Result<OpenedPayment, ProviderError>> {
        Box::pin(async move {
            let form = create_form(&payment, self.settings.manual_capture);
            let intent = self
                .post(
                    "create payment intent",
                    "/v1/payment_intents",
                    &payment.idempotency_key,
                    &form,
                )
                .await?;
            Ok(OpenedPayment {
                reference: text(&intent["id"], "an id")?,
                client_secret: Some(text(&intent["client_secret"], "a client_secret")?),
                approval_url: None,
            })
        })
    }

    fn confirm<'a>(
        &'a self,
        _reference: &'a str,
        _confirmation: &'a Confirmation,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(async move {
            Err(ProviderError::Unsupported(
                "a Stripe payment is confirmed by the customer's browser with its client_secret",
            ))
        })
    }

    fn capture<'a>(
        &'a self,
        reference: &'a str,
        amount: i64,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(async move {
            let intent = self
                .post(
                    "capture",
                    &format!("/v1/payment_intents/{reference}/capture"),
                    &format!("capture-{reference}"),
                    &[("amount_to_capture", amount.to_string())],
                )
                .await?;
            Ok(match intent["status"].as_str() {
                Some("succeeded") => Outcome::Succeeded,
                other => Outcome::Failed(other.unwrap_or("capture_failed").to_owned()),
            })
        })
    }

    fn refund<'a>(
        &'a self,
        reference: &'a str,
        amount: i64,
        _currency: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let refund = self
                .post(
                    "refund",
                    "/v1/refunds",
                    idempotency_key,
                    &[
                        ("payment_intent", reference.to_owned()),
                        ("amount", amount.to_string()),
                    ],
                )
                .await?;
            text(&refund["id"], "a refund id")
        })
    }

    fn cancel<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            self.post(
                "cancel",
                &format!("/v1/payment_intents/{reference}/cancel"),
                &format!("cancel-{reference}"),
                &[],
            )
            .await
            .map(|_| ())
        })
    }

    fn verify_webhook<'a>(
        &'a self,
        headers: &'a axum::http::HeaderMap,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<WebhookEvent>, ProviderError>> {
        Box::pin(async move {
            let header = headers
                .get("stripe-signature")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ProviderError::Unverified("no Stripe-Signature header".into()))?;
            verify_signature(
                header,
                body,
                &self.settings.webhook_secrets,
                platform::time::now_millis() / 1000,
            )?;
            let event: Value = serde_json::from_slice(body)
                .map_err(|e| ProviderError::Unverified(format!("the body is not JSON: {e}")))?;
            Ok(read_event(&event))
        })
    }
}

/// The form that opens a PaymentIntent. Its idempotency key is the order,
/// so nothing in it may differ between two attempts for one order.
fn create_form(payment: &NewPayment<'_>, manual_capture: bool) -> Vec<(&'static str, String)> {
    vec![
        ("amount", payment.amount.to_string()),
        ("currency", payment.currency.to_ascii_lowercase()),
        ("automatic_payment_methods[enabled]", "true".into()),
        (
            "capture_method",
            if manual_capture {
                "manual"
            } else {
                "automatic"
            }
            .into(),
        ),
        ("metadata[order_id]", payment.order_id.to_string()),
    ]
}

/// Checks a `Stripe-Signature` header (`t=...,v1=...[,v1=...]`) against
/// the raw body at `now` (Unix seconds).
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secrets: &[SecretString],
    now: i64,
) -> Result<(), ProviderError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.extend(from_hex(sig)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| {
        ProviderError::Unverified("Stripe-Signature has no valid timestamp".into())
    })?;
    if signatures.is_empty() {
        return Err(ProviderError::Unverified(
            "Stripe-Signature has no v1 signature".into(),
        ));
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(ProviderError::Unverified(format!(
            "the signature's timestamp is {} s away from now (at most {TOLERANCE_SECS})",
            (now - timestamp).abs()
        )));
    }
    let mut signed = Vec::with_capacity(body.len() + 12);
    signed.extend_from_slice(timestamp.to_string().as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let matched = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
        // hmac::verify compares in constant time.
        signatures
            .iter()
            .any(|sig| hmac::verify(&key, &signed, sig).is_ok())
    });
    if matched {
        Ok(())
    } else {
        Err(ProviderError::Unverified(
            "no v1 signature matches the body under the configured secrets".into(),
        ))
    }
}

/// Signs `body` at `timestamp` the way Stripe does (`t=...,v1=...`); for
/// tests and tools that send webhooks.
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = timestamp.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    let tag = hmac::sign(&key, &signed);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

fn from_hex(raw: &str) -> Option<Vec<u8>> {
    if !raw.len().is_multiple_of(2) {
        return None;
    }
    (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(raw.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The events acted on; others are acknowledged and ignored.
fn read_event(event: &Value) -> Option<WebhookEvent> {
    let id = event["id"].as_str()?.to_owned();
    let object = &event["data"]["object"];
    let (reference, happened) = match event["type"].as_str()? {
        "payment_intent.succeeded" | "payment_intent.amount_capturable_updated" => {
            // An authorisation awaiting capture (manual capture) is not
            // money taken, whichever of the two events reports it.
            let happened = if object["status"].as_str() == Some("requires_capture") {
                Happened::AwaitsCapture
            } else if event["type"] == "payment_intent.succeeded" {
                Happened::Succeeded
            } else {
                return None;
            };
            (object["id"].as_str()?, happened)
        }
        "payment_intent.payment_failed" => {
            let error = &object["last_payment_error"];
            let code = error["decline_code"]
                .as_str()
                .or_else(|| error["code"].as_str())
                .unwrap_or("payment_failed");
            (object["id"].as_str()?, Happened::Failed(code.to_owned()))
        }
        "payment_intent.canceled" => (object["id"].as_str()?, Happened::Failed("canceled".into())),
        "charge.refunded" => (
            object["payment_intent"].as_str()?,
            Happened::Refunded {
                total: object["amount_refunded"].as_i64()?,
            },
        ),
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
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn secrets(raw: &[&str]) -> Vec<SecretString> {
        raw.iter().map(|s| SecretString::from(*s)).collect()
    }

    #[test]
    fn a_signature_verifies_under_any_configured_secret_and_only_for_its_body() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let header = sign(body, "whsec_new", now);
        assert!(
            verify_signature(&header, body, &secrets(&["whsec_old", "whsec_new"]), now).is_ok()
        );
        assert!(verify_signature(&header, body, &secrets(&["whsec_old"]), now).is_err());
        assert!(
            verify_signature(&header, br#"{"id":"evt_2"}"#, &secrets(&["whsec_new"]), now).is_err()
        );
    }

    #[test]
    fn several_v1_signatures_are_accepted_when_one_matches() {
        let body = b"{}";
        let now = 1_700_000_000;
        let good = sign(body, "whsec_a", now);
        let sig = good.split_once(",v1=").map(|(_, s)| s).unwrap_or_default();
        let header = format!("t={now},v1={},v1={sig},v0=abc", "00".repeat(32));
        assert!(verify_signature(&header, body, &secrets(&["whsec_a"]), now).is_ok());
    }

    #[test]
    fn stale_future_and_malformed_signatures_are_refused() {
        let body = b"{}";
        let now = 1_700_000_000;
        let s = secrets(&["whsec_a"]);
        let stale = sign(body, "whsec_a", now - TOLERANCE_SECS - 1);
        assert!(verify_signature(&stale, body, &s, now).is_err());
        let edge = sign(body, "whsec_a", now - TOLERANCE_SECS);
        assert!(verify_signature(&edge, body, &s, now).is_ok());
        let future = sign(body, "whsec_a", now + TOLERANCE_SECS + 1);
        assert!(verify_signature(&future, body, &s, now).is_err());
        for header in [
            "",
            "t=abc,v1=00",
            "v1=00",
            &format!("t={now}"),
            &format!("t={now},v1=zz"),
        ] {
            assert!(verify_signature(header, body, &s, now).is_err(), "{header}");
        }
    }

    #[test]
    fn the_create_form_is_the_same_for_every_attempt_of_an_order() {
        let order_id = Uuid::now_v7();
        let payment = |payment_id| NewPayment {
            payment_id,
            order_id,
            amount: 1999,
            currency: "EUR",
            idempotency_key: format!("order-{order_id}"),
        };
        let first = create_form(&payment(Uuid::now_v7()), false);
        assert_eq!(first, create_form(&payment(Uuid::now_v7()), false));
        assert!(first.contains(&("currency", "eur".into())));
        assert!(first.contains(&("automatic_payment_methods[enabled]", "true".into())));
        assert!(first.contains(&("capture_method", "automatic".into())));
        assert!(
            create_form(&payment(Uuid::now_v7()), true)
                .contains(&("capture_method", "manual".into()))
        );
    }

    #[test]
    fn events_map_to_what_happened_to_the_payment() {
        let event = |kind: &str, object: Value| json!({"id": "evt_1", "type": kind, "data": {"object": object}});
        let happened = |e: &Value| read_event(e).map(|w| (w.reference, w.happened));
        assert_eq!(
            happened(&event(
                "payment_intent.succeeded",
                json!({"id": "pi_1", "status": "succeeded"})
            )),
            Some(("pi_1".into(), Happened::Succeeded))
        );
        assert_eq!(
            happened(&event(
                "payment_intent.amount_capturable_updated",
                json!({"id": "pi_1", "status": "requires_capture"})
            )),
            Some(("pi_1".into(), Happened::AwaitsCapture))
        );
        assert_eq!(
            happened(&event(
                "payment_intent.payment_failed",
                json!({"id": "pi_1", "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"}})
            )),
            Some(("pi_1".into(), Happened::Failed("insufficient_funds".into())))
        );
        assert_eq!(
            happened(&event(
                "charge.refunded",
                json!({"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 500})
            )),
            Some(("pi_1".into(), Happened::Refunded { total: 500 }))
        );
        assert_eq!(
            happened(&event("customer.created", json!({"id": "cus_1"}))),
            None
        );
    }
}
