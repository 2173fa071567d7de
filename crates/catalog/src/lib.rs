//! The catalog service.
//!
//! Owns categories (a tree), products with variants (SKU, options, price),
//! stock per SKU (on hand, reserved), the adjustment ledger and order
//! reservations. Publishes `product.updated`; reserves, releases and
//! commits stock for orders. Error codes `CAT-*` (see [`error`]).

pub mod client;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod module;
pub mod reads;
pub mod seed;
pub mod service;
pub mod store;

use platform::db::Backend;
use sqlx::migrate::Migrator;

pub use config::CatalogConfig;
pub use service::CatalogService;

/// The service's name: its schema, its SQLite file.
pub const NAME: &str = "catalog";

/// This service's migrations; full-text search differs by engine.
pub fn migrator(backend: Backend) -> Migrator {
    let search = match backend {
        Backend::Sqlite => include_str!("../migrations/search.sqlite.sql"),
        Backend::Postgres => include_str!("../migrations/search.postgres.sql"),
    };
    platform::db::migrator(&[
        (
            20_261_126_300_000,
            "create catalog",
            include_str!("../migrations/20261126300000_create_catalog.sql"),
        ),
        (20_261_126_300_100, "create product search", search),
        eventbus::outbox::MIGRATION,
        eventbus::inbox::MIGRATION,
    ])
}
