//! Shared plumbing for every Mercato service.
//!
//! What lives here: configuration sections that every service shares, the
//! HTTP stack (problem+json errors, request ids, JSON extraction, layers),
//! telemetry (ECS JSON logs, Prometheus metrics), database pools for SQLite
//! and PostgreSQL, access-token verification, graceful shutdown.
//!
//! What must not live here: anything with business meaning. Types such as
//! `OrderId` belong to a service crate.

pub mod address;
pub mod auth;
pub mod config;
pub mod db;
pub mod discovery;
pub mod email;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod money;
pub mod shutdown;
pub mod telemetry;
pub mod time;

pub use http::problem::{FieldError, Problem};
