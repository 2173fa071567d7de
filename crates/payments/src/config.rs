//! `[payments]`: the payments service's own settings.

use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the payments service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsConfig {
    /// This service's own database; unset uses `[database]`.
    pub database_url: Option<SecretString>,
    /// Whether the built-in `test` provider takes payments (turn it off in
    /// a shop that takes real money).
    pub test_provider: bool,
    /// Each provider call's time limit, in milliseconds.
    pub provider_timeout_ms: u64,
    /// Attempts of one provider call when it answers 429 or 5xx or does
    /// not answer (1 = no retry).
    pub provider_attempts: u32,
    /// How often payments that a provider outage left unopened are tried
    /// again, in milliseconds.
    pub reopen_interval_ms: u64,
    /// Stripe's API base URL.
    pub stripe_base_url: String,
    /// A secret key (`sk_...`); setting it enables Stripe.
    pub stripe_secret_key: Option<SecretString>,
    /// The webhook endpoint's signing secret (`whsec_...`); several,
    /// comma-separated, while rotating.
    pub stripe_webhook_secret: Option<SecretString>,
    /// `automatic` (charged when the customer confirms) or `manual`
    /// (authorised by the customer, captured here once the order is still
    /// open; a cancelled order's hold is released instead of refunded).
    pub stripe_capture: String,
    /// PayPal's API base URL (`https://api-m.sandbox.paypal.com` to test).
    pub paypal_base_url: String,
    /// The REST app's client id; with the secret it enables PayPal.
    pub paypal_client_id: Option<String>,
    /// The REST app's secret.
    pub paypal_client_secret: Option<SecretString>,
    /// The id PayPal gave the webhook endpoint (for verification).
    pub paypal_webhook_id: Option<String>,
    /// Where PayPal sends the buyer after approving; `{payment_id}` and
    /// `{order_id}` are replaced.
    pub paypal_return_url: String,
    /// Where PayPal sends the buyer who cancels.
    pub paypal_cancel_url: String,
}

impl PaymentsConfig {
    /// Checks values.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url {
            platform::db::check_url("payments.database_url", url)?;
        }
        anyhow::ensure!(
            self.provider_attempts >= 1,
            "payments.provider_attempts must be at least 1"
        );
        anyhow::ensure!(
            self.provider_timeout_ms >= 100,
            "payments.provider_timeout_ms must be at least 100"
        );
        anyhow::ensure!(
            self.reopen_interval_ms >= 100,
            "payments.reopen_interval_ms must be at least 100"
        );
        anyhow::ensure!(
            matches!(self.stripe_capture.as_str(), "automatic" | "manual"),
            "payments.stripe_capture must be `automatic` or `manual`"
        );
        for (name, url) in [
            ("payments.stripe_base_url", &self.stripe_base_url),
            ("payments.paypal_base_url", &self.paypal_base_url),
        ] {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "{name} must be an http(s) URL"
            );
        }
        if self.stripe_secret_key.is_some() {
            anyhow::ensure!(
                self.stripe_webhook_secret.is_some(),
                "payments.stripe_webhook_secret is required with payments.stripe_secret_key"
            );
        }
        if self.paypal_client_id.is_some() || self.paypal_client_secret.is_some() {
            anyhow::ensure!(
                self.paypal_client_id.is_some()
                    && self.paypal_client_secret.is_some()
                    && self.paypal_webhook_id.is_some(),
                "PayPal needs payments.paypal_client_id, paypal_client_secret and paypal_webhook_id"
            );
        }
        Ok(())
    }
}
