//! The users service.
//!
//! Owns accounts, credentials (argon2id), refresh-token sessions, roles,
//! address books, email-verification and password-reset tokens, and the
//! Ed25519 keys that sign access tokens (served as a JWKS).
//!
//! Publishes `user.registered`, `user.email_verification_requested` and
//! `user.password_reset_requested` (payloads in `contracts::events::users`)
//! through its outbox; consumes nothing.
//! Error codes `IDN-*` (see [`error`]).

pub mod config;
pub mod domain;
pub mod error;
pub mod hashing;
pub mod http;
pub mod keys;
pub mod module;
pub mod service;
pub mod store;

use sqlx::migrate::Migrator;

pub use config::UsersConfig;
pub use service::UsersService;

/// The service's name: its schema, its SQLite file, its metrics prefix.
pub const NAME: &str = "users";

/// This service's schema migrations, embedded in the binary (the same on
/// both engines).
pub fn migrator(_backend: platform::db::Backend) -> Migrator {
    platform::db::migrator(&[
        (
            20_261_126_000_000,
            "create users",
            include_str!("../migrations/20261126000000_create_users.sql"),
        ),
        eventbus::outbox::MIGRATION,
    ])
}
