//! The cart service.
//!
//! Owns carts (guest carts keyed by their random id, customer carts bound to
//! the token's subject) and their lines with a price snapshot taken from the
//! catalog, never from the client, priced (promotions, discount) by the
//! pricing service. Consumes `product.updated` to refresh
//! those snapshots; publishes nothing.
//! Error codes `CRT-*` (see [`error`]).

pub mod client;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod module;
pub mod service;
pub mod store;

use sqlx::migrate::Migrator;

pub use config::CartConfig;
pub use service::CartService;

/// The service's name: its schema, its SQLite file.
pub const NAME: &str = "cart";

/// This service's migrations (the same on both engines).
pub fn migrator(_backend: platform::db::Backend) -> Migrator {
    platform::db::migrator(&[
        (
            20_261_126_400_000,
            "create cart",
            include_str!("../migrations/20261126400000_create_cart.sql"),
        ),
        eventbus::inbox::MIGRATION,
        (
            20_261_204_200_000,
            "cart promotion code",
            include_str!("../migrations/20261204200000_cart_promotion_code.sql"),
        ),
    ])
}
