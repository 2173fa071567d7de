//! The notifications service's errors (only generic ones: 401, 422, 500).

use axum::response::{IntoResponse, Response};
use platform::{FieldError, Problem};

/// Everything a notifications request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// Fields failed validation.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// A problem the shared plumbing decided (shared validation,
    /// idempotency): answered as it is, whatever its status.
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for NotificationError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

impl From<Problem> for NotificationError {
    fn from(problem: Problem) -> Self {
        Self::Problem(Box::new(problem))
    }
}

/// Result of a notifications operation.
pub type Result<T, E = NotificationError> = std::result::Result<T, E>;

impl NotificationError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for NotificationError {
    fn into_response(self) -> Response {
        match self {
            Self::Validation(errors) => Problem::validation(errors),
            Self::Problem(problem) => *problem,
            Self::Unexpected(e) => Problem::unexpected(&e),
        }
        .into_response()
    }
}
