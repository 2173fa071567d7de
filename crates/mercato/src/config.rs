//! The whole configuration document: platform sections plus one per service.

use std::path::Path;

use cart::CartConfig;
use catalog::CatalogConfig;
use eventbus::EventBusConfig;
use notifications::NotificationsConfig;
use orders::OrdersConfig;
use payments::PaymentsConfig;
use platform::config::{AuthConfig, DatabaseConfig, DiscoveryConfig, HttpConfig, TelemetryConfig};
use pricing::PricingConfig;
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
    /// `[pricing]`
    pub pricing: PricingConfig,
    /// `[cart]`
    pub cart: CartConfig,
    /// `[orders]`
    pub orders: OrdersConfig,
    /// `[payments]`
    pub payments: PaymentsConfig,
    /// `[notifications]`
    pub notifications: NotificationsConfig,
    /// `[web]`
    pub web: web::WebConfig,
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
        self.pricing.validate()?;
        self.cart.validate()?;
        self.orders.validate()?;
        self.payments.validate()?;
        self.notifications.validate()?;
        self.web.validate()?;
        self.refuse_placeholder_secrets()
    }

    /// `deploy/compose/env.example` ships `change-me-*` values; a stack
    /// started with one of them has a password anyone can read on GitHub.
    fn refuse_placeholder_secrets(&self) -> anyhow::Result<()> {
        use secrecy::ExposeSecret as _;
        let secrets = [
            ("database.url", &self.database.url),
            ("users.database_url", &self.users.database_url),
            ("users.admin_password", &self.users.admin_password),
            (
                "users.demo_customer_password",
                &self.users.demo_customer_password,
            ),
            ("catalog.database_url", &self.catalog.database_url),
            ("pricing.database_url", &self.pricing.database_url),
            ("cart.database_url", &self.cart.database_url),
            ("orders.database_url", &self.orders.database_url),
            ("payments.database_url", &self.payments.database_url),
            (
                "payments.stripe_secret_key",
                &self.payments.stripe_secret_key,
            ),
            (
                "payments.stripe_webhook_secret",
                &self.payments.stripe_webhook_secret,
            ),
            (
                "payments.paypal_client_secret",
                &self.payments.paypal_client_secret,
            ),
            (
                "notifications.database_url",
                &self.notifications.database_url,
            ),
            (
                "notifications.smtp_password",
                &self.notifications.smtp_password,
            ),
            (
                "notifications.sendgrid_api_key",
                &self.notifications.sendgrid_api_key,
            ),
            (
                "notifications.twilio_auth_token",
                &self.notifications.twilio_auth_token,
            ),
            ("web.session_key", &self.web.session_key),
        ];
        for (key, value) in secrets {
            anyhow::ensure!(
                !value
                    .as_ref()
                    .is_some_and(|v| v.expose_secret().to_ascii_lowercase().contains("change-me")),
                "{key} holds a placeholder secret (change-me...): choose a real one"
            );
        }
        Ok(())
    }
}
