//! `[pricing]`: the pricing service's own settings.

use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the pricing service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// This service's own database; unset uses `[database]`.
    pub database_url: Option<SecretString>,
    /// How long a quote waits for the tax provider, in milliseconds; past
    /// it the quote fails (503), never guesses.
    pub tax_timeout_ms: u64,
}

impl PricingConfig {
    /// Checks ranges.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (10..=30_000).contains(&self.tax_timeout_ms),
            "pricing.tax_timeout_ms must be within 10..=30000"
        );
        if let Some(url) = &self.database_url {
            platform::db::check_url("pricing.database_url", url)?;
        }
        Ok(())
    }
}
