//! `[catalog]`: the catalog service's own settings.

use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the catalog service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// This service's own database; unset uses `[database]`.
    pub database_url: Option<SecretString>,
    /// How long reserved stock waits for payment, in seconds.
    pub reservation_ttl_secs: u64,
    /// `Cache-Control: max-age` of public catalog reads, in seconds.
    pub public_max_age_secs: u64,
    /// Rendered public reads kept until the catalog changes; 0 turns it off.
    pub read_cache_entries: usize,
    /// Demo products the all-in-one server creates on first start, when the
    /// catalog is empty; 0 disables it.
    pub demo_products: usize,
}

impl CatalogConfig {
    /// Checks ranges.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (60..=7 * 86_400).contains(&self.reservation_ttl_secs),
            "catalog.reservation_ttl_secs must be within 60..=604800"
        );
        anyhow::ensure!(
            self.public_max_age_secs <= 3600,
            "catalog.public_max_age_secs must be at most 3600"
        );
        anyhow::ensure!(
            self.read_cache_entries <= 1_000_000,
            "catalog.read_cache_entries must be at most 1000000"
        );
        if let Some(url) = &self.database_url {
            platform::db::check_url("catalog.database_url", url)?;
        }
        Ok(())
    }
}
