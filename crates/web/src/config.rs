//! `[web]`: the storefront's settings.

use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the storefront.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// The API's base URL (the gateway) when the storefront runs in its
    /// own process; unused in the all-in-one server, which calls the
    /// services in-process.
    pub api_url: Option<String>,
    /// Timeout of one API call, in milliseconds.
    pub api_timeout_ms: u64,
    /// Base64 of 32 random bytes sealing the session cookie; every replica
    /// needs the same. Unset: a random key per process.
    pub session_key: Option<SecretString>,
    /// Mark the cookie Secure even when no gateway says the request came
    /// over TLS.
    pub secure_cookies: bool,
    /// The shop's name in titles and the header.
    pub shop_name: String,
    /// Products on the home page.
    pub featured_products: usize,
    /// How long the category tree is reused between pages, in seconds.
    pub category_cache_secs: u64,
    /// Stripe's publishable key: with it, Stripe payments are confirmed in
    /// the browser by Stripe.js.
    pub stripe_publishable_key: String,
    /// Where Stripe.js is loaded from.
    pub stripe_js_url: String,
    /// The admin dashboard signs out after this many seconds without a page.
    pub admin_idle_secs: u64,
    /// Prometheus's base URL: the dashboard's overview reads the event
    /// backbone's health (outbox lag, dead letters) from it. Unset, the
    /// all-in-one server reads its own metrics.
    pub prometheus_url: Option<String>,
}

impl WebConfig {
    /// Checks ranges.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (50..=60_000).contains(&self.api_timeout_ms),
            "web.api_timeout_ms must be within 50..=60000"
        );
        anyhow::ensure!(
            (1..=48).contains(&self.featured_products),
            "web.featured_products must be within 1..=48"
        );
        anyhow::ensure!(
            self.category_cache_secs <= 3600,
            "web.category_cache_secs must be at most 3600"
        );
        anyhow::ensure!(
            !self.shop_name.trim().is_empty() && self.shop_name.len() <= 100,
            "web.shop_name must be 1..=100 characters"
        );
        if let Some(url) = &self.api_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "web.api_url must be an http(s) URL"
            );
        }
        anyhow::ensure!(
            (5..=86_400).contains(&self.admin_idle_secs),
            "web.admin_idle_secs must be within 5..=86400"
        );
        if let Some(url) = &self.prometheus_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "web.prometheus_url must be an http(s) URL"
            );
        }
        anyhow::ensure!(
            self.stripe_js_url.starts_with("https://") || self.stripe_js_url.starts_with("http://"),
            "web.stripe_js_url must be an http(s) URL"
        );
        Ok(())
    }
}
