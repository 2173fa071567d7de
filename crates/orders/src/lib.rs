//! The orders service.
//!
//! Owns orders, their lines, their status history and the idempotency keys
//! of checkout. Places orders from carts (read through the cart client),
//! drives each order through the state machine of API.md as the catalog and
//! payments report back, and publishes every transition.
//! Error codes `ORD-*` (see [`error`]).

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod module;
pub mod service;
pub mod store;

use sqlx::migrate::Migrator;

pub use config::OrdersConfig;
pub use service::OrdersService;

/// The service's name: its schema, its SQLite file.
pub const NAME: &str = "orders";

/// This service's migrations (the same on both engines).
pub fn migrator(_backend: platform::db::Backend) -> Migrator {
    platform::db::migrator(&[
        (
            20_261_126_500_000,
            "create orders",
            include_str!("../migrations/20261126500000_create_orders.sql"),
        ),
        eventbus::outbox::MIGRATION,
        eventbus::inbox::MIGRATION,
        platform::idempotency::MIGRATION,
        (
            20_261_204_300_000,
            "order pricing",
            include_str!("../migrations/20261204300000_order_pricing.sql"),
        ),
    ])
}
