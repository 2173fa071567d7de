//! The whole configuration document: platform sections plus one per service.

use std::path::Path;

use cart::CartConfig;
use catalog::CatalogConfig;
use eventbus::EventBusConfig;
use notifications::NotificationsConfig;
use orders::OrdersConfig;
use payments::PaymentsConfig;
use platform::config::{AuthConfig, DatabaseConfig, DiscoveryConfig, HttpConfig, TelemetryConfig};
use serde::Deserialize;
use users::UsersConfig;

/// Built-in defaults, every key commented.
pub const DEFAULTS: &str = include_str!("../../../config/base.toml");

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "http.cors_origins",
    "http.trusted_proxies",
    "eventbus.redelivery_backoff_ms",
    "orders.payment_providers",
    "discovery.middlewares",
];

/// Everything `mercato` reads at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[http]`
    pub http: HttpConfig,
    /// `[telemetry]`
    pub telemetry: TelemetryConfig,
    /// `[database]`
    pub database: DatabaseConfig,
    /// `[auth]`
    pub auth: AuthConfig,
    /// `[eventbus]`
    pub eventbus: EventBusConfig,
    /// `[discovery]`
    pub discovery: DiscoveryConfig,
    /// `[users]`
    pub users: UsersConfig,
    /// `[catalog]`
    pub catalog: CatalogConfig,
    /// `[cart]`
    pub cart: CartConfig,
    /// `[orders]`
    pub orders: OrdersConfig,
    /// `[payments]`
    pub payments: PaymentsConfig,
    /// `[notifications]`
    pub notifications: NotificationsConfig,
}

impl Config {
    /// Loads defaults, then `file`, then `MERCATO__*` variables, then
    /// `overrides` (flags, as `("http.listen", "...")`), and validates.
    pub fn load(file: Option<&Path>, overrides: &[(&str, String)]) -> anyhow::Result<Self> {
        let cfg: Self = platform::config::load(DEFAULTS, file, LIST_KEYS, overrides)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every section.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.http.validate()?;
        self.database.validate()?;
        self.auth.validate()?;
        self.eventbus.validate()?;
        self.discovery.validate()?;
        self.users.validate()?;
        self.catalog.validate()?;
        self.cart.validate()?;
        self.orders.validate()?;
        self.payments.validate()?;
        self.notifications.validate()?;
        Ok(())
    }
}
