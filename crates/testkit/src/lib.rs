//! Test support: the real servers tests start (PostgreSQL, NATS, etcd,
//! Traefik, SMTP, localstripe), fakes of PayPal, SendGrid and Twilio, and
//! both storage backends. With the `app` feature, also the harness that
//! starts the real Mercato app (the production build path) on port 0 and
//! talks to it over real HTTP; without it, nothing here depends on the
//! binary, so a service's or the plumbing's own tests build only it.
//!
//! PostgreSQL tests need `MERCATO_TEST_DATABASE_URL` (the test command in the
//! README starts a server and sets it); each app gets its own schemas.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "a failed step fails the test loudly, in helpers too"
)]

#[cfg(feature = "browser")]
pub mod browser;
pub mod etcd;
pub mod events;
pub mod fakes;
pub mod logging;
pub mod nats;
pub mod otel;
pub mod postgres;
pub mod prometheus;
#[cfg(feature = "app")]
pub mod shop;
pub mod smtp;
pub mod stripe;
pub mod traefik;

#[cfg(feature = "app")]
mod app;
#[cfg(feature = "app")]
pub use app::*;

use eventbus::EventBusConfig;
use platform::config::DatabaseConfig;
use serde::Deserialize;

/// The storage engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite files in a temporary folder.
    Sqlite,
    /// A fresh schema on the test PostgreSQL server.
    Postgres,
}

/// The bootstrap admin every test app has.
pub const ADMIN_EMAIL: &str = "admin@test.mercato.dev";
/// Its password.
pub const ADMIN_PASSWORD: &str = "Admin-Test-Pass-7391";
/// A password the policy accepts.
pub const GOOD_PASSWORD: &str = "lunar-Cactus-trumpet-42";

/// Runs one async test body on SQLite and on PostgreSQL, as two tests named
/// `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
        }
    )*};
}

/// The path in `variable`, which `scripts/test` sets to a program it
/// installed (`what` names the programs in the message when it is unset).
pub fn installed(variable: &str, what: &str) -> String {
    match std::env::var(variable) {
        Ok(path) if !path.is_empty() => path,
        _ => {
            panic!("{variable} is not set: run the tests with scripts/test, which installs {what}")
        }
    }
}

/// A free loopback port, for a server a test starts on it next.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// The URL of the test PostgreSQL server.
pub fn postgres_url() -> String {
    match std::env::var("MERCATO_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "MERCATO_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts \
             PostgreSQL, or point it at a server where the user may create schemas"
        ),
    }
}

/// The sections of the test configuration the plumbing's own tests need
/// (the database and the bus), without the rest of the app.
#[derive(Debug, Clone, Deserialize)]
pub struct PlumbingConfig {
    /// `[database]`.
    pub database: DatabaseConfig,
    /// `[eventbus]`.
    pub eventbus: EventBusConfig,
}

/// The built-in defaults (every section), as the binary reads them.
const DEFAULTS: &str = include_str!("../../../config/base.toml");

/// The database and bus sections of the test configuration on `backend`.
pub fn plumbing_config(backend: Backend, data_dir: &std::path::Path) -> PlumbingConfig {
    let mut cfg: PlumbingConfig =
        match platform::config::load(DEFAULTS, None, &[], &overrides(backend, data_dir)) {
            Ok(cfg) => cfg,
            Err(e) => panic!("test configuration: {e:#}"),
        };
    quick_redelivery(&mut cfg.eventbus);
    cfg
}

/// What every test configuration changes: a temporary data folder, small
/// pools, a relay that retries soon, and its own PostgreSQL schemas.
fn overrides(backend: Backend, data_dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let mut overrides = vec![
        ("database.data_dir", data_dir.display().to_string()),
        ("database.max_connections", "5".to_owned()),
        ("eventbus.relay_max_backoff_ms", "500".to_owned()),
    ];
    if backend == Backend::Postgres {
        let prefix = format!("t{}_", uuid::Uuid::new_v4().simple());
        overrides.push(("database.url", postgres_url()));
        overrides.push(("database.schema_prefix", prefix));
    }
    overrides
}

/// Quick retries, so that failure tests run in seconds.
fn quick_redelivery(eventbus: &mut EventBusConfig) {
    eventbus.redelivery_backoff_ms = vec![50, 100, 200];
}
