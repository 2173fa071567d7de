//! The orders service.
//!
//! Owns orders, their lines, their status history and the idempotency keys
//! of checkout. This release holds the domain: the order state machine of
//! API.md; the HTTP API, the store and the saga wiring follow.

pub mod domain;
