//! `[orders]`: the orders service's own settings.

use contracts::checkout::Provider;
use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the orders service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    /// This service's own database; unset uses `[database]`.
    pub database_url: Option<SecretString>,
    /// The cart's base URL, when cart runs in another process.
    pub cart_url: Option<String>,
    /// Timeout of a call to the cart, in milliseconds.
    pub cart_timeout_ms: u64,
    /// Pricing's base URL, when pricing runs in another process.
    pub pricing_url: Option<String>,
    /// Timeout of a call to pricing, in milliseconds.
    pub pricing_timeout_ms: u64,
    /// Providers customers may choose (those payments has enabled).
    pub payment_providers: Vec<String>,
}

impl OrdersConfig {
    /// Checks ranges.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (50..=30_000).contains(&self.cart_timeout_ms),
            "orders.cart_timeout_ms must be within 50..=30000"
        );
        anyhow::ensure!(
            (50..=30_000).contains(&self.pricing_timeout_ms),
            "orders.pricing_timeout_ms must be within 50..=30000"
        );
        anyhow::ensure!(
            !self.payment_providers.is_empty(),
            "orders.payment_providers names no provider"
        );
        for provider in &self.payment_providers {
            anyhow::ensure!(
                Provider::parse(provider).is_some(),
                "orders.payment_providers: unknown provider `{provider}`; known: {}",
                Provider::ALL.map(Provider::as_str).join(", ")
            );
        }
        if let Some(url) = &self.cart_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "orders.cart_url must be an http(s) URL"
            );
        }
        if let Some(url) = &self.database_url {
            platform::db::check_url("orders.database_url", url)?;
        }
        Ok(())
    }
}
