//! The payments service.
//!
//! Owns payments, refunds, provider references and webhook receipts. A
//! payment is opened when the catalog has reserved an order's stock, for
//! the amount the order owes (learnt from `order.placed`, never from a
//! client); its outcome is published as `payment.succeeded` or
//! `payment.failed`; a cancelled order's payment is voided or refunded.
//! Providers sit behind [`providers::PaymentProvider`].
//! Error codes `PAY-*` (see [`error`]).

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod module;
pub mod providers;
pub mod service;
pub mod store;

use sqlx::migrate::Migrator;

pub use config::PaymentsConfig;
pub use service::PaymentsService;

/// The service's name: its schema, its SQLite file.
pub const NAME: &str = "payments";

/// This service's migrations (the same on both engines).
pub fn migrator(_backend: platform::db::Backend) -> Migrator {
    platform::db::migrator(&[
        (
            20_261_126_600_000,
            "create payments",
            include_str!("../migrations/20261126600000_create_payments.sql"),
        ),
        (
            20_261_127_100_000,
            "provider webhooks",
            include_str!("../migrations/20261127100000_provider_webhooks.sql"),
        ),
        eventbus::outbox::MIGRATION,
        eventbus::inbox::MIGRATION,
        platform::idempotency::MIGRATION,
    ])
}
