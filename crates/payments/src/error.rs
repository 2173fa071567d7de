//! The payments service's errors. Codes `PAY-*`:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | PAY-0001 | 404 | no such payment (or not the caller's) |
//! | PAY-0002 | 409 | the payment's status does not allow this; `current_status` says which it is |
//! | PAY-0003 | 502 | the provider refused or failed; nothing was charged or refunded |
//! | PAY-0004 | 400 | a webhook's signature is missing or wrong, or its provider is not configured |
//! | PAY-0005 | 422 | nothing remains to refund (`errors` names `amount`) |

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{FieldError, Problem};

use crate::providers::ProviderError;

/// Everything a payments request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// Fields failed validation.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// Not found, or not the caller's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The status does not allow it.
    #[error("the payment is {status}: {detail}")]
    WrongStatus {
        /// Current status.
        status: &'static str,
        /// What was refused.
        detail: String,
    },
    /// Everything taken went back already (or is going back).
    #[error("nothing remains to refund")]
    NothingToRefund,
    /// The provider failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A webhook that cannot be trusted.
    #[error("webhook refused: {0}")]
    Webhook(String),
    /// A problem decided elsewhere (idempotency).
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for PaymentError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

impl From<Problem> for PaymentError {
    fn from(problem: Problem) -> Self {
        Self::Problem(Box::new(problem))
    }
}

/// Result of a payments operation.
pub type Result<T, E = PaymentError> = std::result::Result<T, E>;

impl PaymentError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for PaymentError {
    fn into_response(self) -> Response {
        let problem = match self {
            Self::Validation(errors) => Problem::validation(errors),
            Self::NotFound(what) => {
                let mut problem = Problem::not_found(format!("No such {what}."));
                problem.code = "PAY-0001".into();
                problem
            }
            Self::WrongStatus { status, detail } => Problem::new(
                StatusCode::CONFLICT,
                "payments/wrong-status",
                "PAY-0002",
                "Not possible in the payment's status",
            )
            .detail(detail)
            .with("current_status", status),
            Self::NothingToRefund => {
                let mut problem = Problem::invalid_field(
                    "amount",
                    "nothing remains to refund: all of the payment went back already",
                );
                problem.code = "PAY-0005".into();
                problem
            }
            Self::Provider(e) => {
                tracing::warn!(error.message = %e, "payment provider call failed");
                let mut problem = Problem::new(
                    StatusCode::BAD_GATEWAY,
                    "payments/provider-failed",
                    "PAY-0003",
                    "The payment provider did not complete the request",
                )
                .detail(format!("{e}; nothing was charged or refunded."));
                if matches!(e, ProviderError::Transient(_)) {
                    problem.retry_after = Some(5);
                }
                problem
            }
            Self::Webhook(detail) => {
                let mut problem = Problem::bad_request(detail);
                problem.code = "PAY-0004".into();
                problem
            }
            Self::Problem(problem) => *problem,
            Self::Unexpected(e) => Problem::unexpected(&e),
        };
        problem.into_response()
    }
}
