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
}

impl PaymentsConfig {
    /// Checks values.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url {
            platform::db::check_url("payments.database_url", url)?;
        }
        Ok(())
    }
}
