//! A real local server of Stripe's API for tests: `localstripe` from
//! PyPI, driven by `stripe/server.py`, on a free loopback port. Besides
//! serving the shop, it plays the customer's browser (what Stripe.js does
//! with a `client_secret`: a card payment method, then confirmation) and
//! signs and sends webhooks to a registered URL as Stripe does.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::free_port;

/// The secret key the shop is configured with (localstripe accepts any
/// `sk_` key).
pub const SECRET_KEY: &str = "sk_test_mercato";

/// A running localstripe; stopped when dropped.
pub struct LocalStripe {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
    http: reqwest::Client,
}

fn python() -> PathBuf {
    std::env::var_os("MERCATO_TEST_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

impl LocalStripe {
    /// Starts one on a free port and waits until it answers.
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts one on `port` (to end a simulated outage on a known URL).
    pub async fn start_on(port: u16) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stripe/server.py");
        let child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting localstripe (python3 with localstripe; scripts/test installs it): {e}"
                )
            });
        let me = Self {
            port,
            child,
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        while me
            .http
            .get(format!("{}/v1/customers", me.base()))
            .bearer_auth(SECRET_KEY)
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "localstripe did not start (is it installed? scripts/test installs it)"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        me
    }

    /// Its base URL (for `payments.stripe_base_url`).
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base()))
            .bearer_auth(SECRET_KEY)
            .form(form)
            .send()
            .await
            .expect("localstripe answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Reads an object, e.g. `/v1/payment_intents/pi_...`.
    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base()))
            .bearer_auth(SECRET_KEY)
            .send()
            .await
            .expect("localstripe answers")
            .json()
            .await
            .expect("JSON")
    }

    /// Has Stripe send every event to `url`, signed with `secret`.
    pub async fn register_webhook(&self, url: &str, secret: &str) {
        let (status, _) = self
            .post(
                "/_config/webhooks/mercato",
                &[("url", url), ("secret", secret)],
            )
            .await;
        assert_eq!(status, 200, "registering the webhook");
    }

    /// What the customer's browser does with a PaymentIntent: a card
    /// payment method, then confirmation. Returns Stripe's answer to the
    /// confirmation (402 for a declined card).
    pub async fn pay(&self, payment_intent: &str, card: &str) -> (u16, Value) {
        let (status, method) = self
            .post(
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", card),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        assert_eq!(status, 200, "creating the payment method: {method}");
        let method = method["id"].as_str().expect("payment method id");
        let (status, intent) = self
            .post(
                &format!("/v1/payment_intents/{payment_intent}"),
                &[("payment_method", method)],
            )
            .await;
        assert_eq!(status, 200, "attaching the payment method: {intent}");
        self.post(
            &format!("/v1/payment_intents/{payment_intent}/confirm"),
            &[],
        )
        .await
    }
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
