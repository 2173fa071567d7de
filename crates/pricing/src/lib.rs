//! The pricing service.
//!
//! Owns shipping options, tax rates and promotions, and computes every
//! total of a cart and an order from them ([`domain::totals`], the one
//! place Mercato does money arithmetic beyond a line's total). Cart and
//! orders ask it for quotes (in-process or `POST /api/v1/quotes`); orders
//! keeps the authoritative ledger of promotion uses (ADR 0016), which
//! pricing mirrors from `order.placed` and `order.cancelled`.
//! Error codes `PRC-*` (see [`error`]).

pub mod client;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod module;
pub mod service;
pub mod store;
pub mod tax;

use sqlx::migrate::Migrator;

pub use config::PricingConfig;
pub use service::PricingService;

/// The service's name: its schema, its SQLite file.
pub const NAME: &str = "pricing";

/// This service's migrations (the same on both engines).
pub fn migrator(_backend: platform::db::Backend) -> Migrator {
    platform::db::migrator(&[(
        20_261_204_100_000,
        "create pricing",
        include_str!("../migrations/20261204100000_create_pricing.sql"),
    )])
}
