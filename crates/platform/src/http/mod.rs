//! The HTTP stack shared by every service.

pub mod edge;
pub mod extract;
pub mod layers;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod schema;
pub mod server;

/// `application/problem+json`, the media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
