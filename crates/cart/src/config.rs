//! `[cart]`: the cart service's own settings.

use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the cart service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartConfig {
    /// This service's own database; unset uses `[database]`.
    pub database_url: Option<SecretString>,
    /// Carts untouched for this many days are deleted.
    pub idle_days: u64,
    /// Currency of a cart created without one.
    pub default_currency: String,
    /// The catalog's base URL, when catalog runs in another process.
    pub catalog_url: Option<String>,
    /// Timeout of a call to the catalog, in milliseconds.
    pub catalog_timeout_ms: u64,
    /// Pricing's base URL, when pricing runs in another process.
    pub pricing_url: Option<String>,
    /// Timeout of a call to pricing, in milliseconds.
    pub pricing_timeout_ms: u64,
}

impl CartConfig {
    /// Checks ranges.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=365).contains(&self.idle_days),
            "cart.idle_days must be within 1..=365"
        );
        anyhow::ensure!(
            platform::money::is_currency(&self.default_currency),
            "cart.default_currency must be an ISO 4217 code"
        );
        anyhow::ensure!(
            (50..=30_000).contains(&self.catalog_timeout_ms),
            "cart.catalog_timeout_ms must be within 50..=30000"
        );
        anyhow::ensure!(
            (50..=30_000).contains(&self.pricing_timeout_ms),
            "cart.pricing_timeout_ms must be within 50..=30000"
        );
        for (key, url) in [
            ("cart.catalog_url", &self.catalog_url),
            ("cart.pricing_url", &self.pricing_url),
        ] {
            if let Some(url) = url {
                anyhow::ensure!(
                    url.starts_with("http://") || url.starts_with("https://"),
                    "{key} must be an http(s) URL"
                );
            }
        }
        if let Some(url) = &self.database_url {
            platform::db::check_url("cart.database_url", url)?;
        }
        Ok(())
    }
}
