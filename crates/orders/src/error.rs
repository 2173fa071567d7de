//! The orders service's errors. Codes `ORD-*`:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | ORD-0001 | 404 | no such order or cart (or not the caller's) |
//! | ORD-0002 | 409 | the order's status does not allow this; `current_status` says which it is |
//! | ORD-0003 | 503 | the cart cannot be reached |
//! | ORD-0004 | 503 | pricing (or its tax provider) cannot be reached |
//! | ORD-0005 | 422 | the cart's promotion code cannot apply; the type says why (`promotions/used-up`, ...) |

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{FieldError, Problem};

use crate::domain::lifecycle::InvalidTransition;

/// Everything an orders request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// Fields failed validation.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// Not found, or not the caller's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The state machine refused.
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    /// A problem decided elsewhere (idempotency).
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// The cart did not answer.
    #[error("cart unavailable: {0}")]
    CartUnavailable(String),
    /// Pricing did not answer.
    #[error("pricing unavailable: {0}")]
    PricingUnavailable(String),
    /// A promotion of the cart cannot apply.
    #[error("code {code}: {message}")]
    CodeRefused {
        /// The code, upper-cased (or the automatic promotion's id).
        code: String,
        /// The problem type's slug after `promotions/`.
        reason: String,
        /// What the customer reads.
        message: String,
    },
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for OrderError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

impl From<Problem> for OrderError {
    fn from(problem: Problem) -> Self {
        Self::Problem(Box::new(problem))
    }
}

/// Result of an orders operation.
pub type Result<T, E = OrderError> = std::result::Result<T, E>;

impl OrderError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for OrderError {
    fn into_response(self) -> Response {
        let problem = match self {
            Self::Validation(errors) => Problem::validation(errors),
            Self::NotFound(what) => {
                let mut problem = Problem::not_found(format!("No such {what}."));
                problem.code = "ORD-0001".into();
                problem
            }
            Self::Transition(e) => Problem::new(
                StatusCode::CONFLICT,
                "orders/invalid-transition",
                "ORD-0002",
                "Not possible in the order's status",
            )
            .detail(format!("{e}."))
            .with("current_status", e.current.as_str()),
            Self::Problem(problem) => *problem,
            Self::CartUnavailable(detail) => {
                tracing::warn!(error.message = %detail, "cart unavailable");
                let mut problem =
                    Problem::unavailable("The cart cannot be reached; try again shortly.");
                problem.code = "ORD-0003".into();
                problem.retry_after = Some(5);
                problem
            }
            Self::PricingUnavailable(detail) => {
                tracing::warn!(error.message = %detail, "pricing unavailable");
                let mut problem = Problem::unavailable(
                    "The order's total cannot be computed right now; nothing was charged. Try again shortly.",
                );
                problem.code = "ORD-0004".into();
                problem.retry_after = Some(5);
                problem
            }
            Self::CodeRefused {
                code,
                reason,
                message,
            } => contracts::clients::pricing::refusal_problem("ORD-0005", &code, &reason, &message)
                .detail(format!(
                    "{code} {message}; remove it from the cart to order without it."
                )),
            Self::Unexpected(e) => Problem::unexpected(&e),
        };
        problem.into_response()
    }
}
