//! The pricing service's errors. Codes `PRC-*`:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | PRC-0001 | 404 | no such shipping option, tax rate or promotion |
//! | PRC-0002 | 409 | another promotion has this code |
//! | PRC-0003 | 409 | the country (and region) already has a tax rate |
//! | PRC-0004 | 422 | a code cannot apply; the type says why (`promotions/expired`, ...) |
//! | PRC-0005 | 422 | the shipping option does not serve the destination |
//! | PRC-0006 | 503 | the tax provider did not answer in time |

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{FieldError, Problem};

use crate::domain::promotion::Refusal;

/// Everything a pricing request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// Fields failed validation.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// Not found.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The code belongs to another promotion.
    #[error("code taken")]
    CodeTaken,
    /// The place has a rate.
    #[error("a rate exists")]
    RateExists,
    /// The code does not apply.
    #[error("code {code}: {}", .refusal.message())]
    Refused {
        /// The code, upper-cased.
        code: String,
        /// Why.
        refusal: Refusal,
    },
    /// The chosen option does not ship there.
    #[error("the shipping option does not serve the destination")]
    ShippingOption,
    /// The tax provider failed or was too slow.
    #[error("tax provider unavailable: {0}")]
    TaxUnavailable(String),
    /// A problem the shared plumbing decided.
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for PricingError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

impl From<Problem> for PricingError {
    fn from(problem: Problem) -> Self {
        Self::Problem(Box::new(problem))
    }
}

/// Result of a pricing operation.
pub type Result<T, E = PricingError> = std::result::Result<T, E>;

impl PricingError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for PricingError {
    fn into_response(self) -> Response {
        let problem = match self {
            Self::Validation(errors) => Problem::validation(errors),
            Self::NotFound(what) => {
                let mut problem = Problem::not_found(format!("No such {what}."));
                problem.code = "PRC-0001".into();
                problem
            }
            Self::CodeTaken => Problem::new(
                StatusCode::CONFLICT,
                "promotions/code-taken",
                "PRC-0002",
                "Code taken",
            )
            .detail("Another promotion has this code; codes are compared without regard to case."),
            Self::RateExists => Problem::new(
                StatusCode::CONFLICT,
                "pricing/rate-exists",
                "PRC-0003",
                "A rate exists",
            )
            .detail("This country (and region) already has a tax rate; change that one."),
            Self::Refused { code, refusal } => contracts::clients::pricing::refusal_problem(
                "PRC-0004",
                &code,
                refusal.slug(),
                refusal.message(),
            ),
            Self::ShippingOption => {
                let mut problem = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "pricing/shipping-option",
                    "PRC-0005",
                    "Shipping option not available",
                )
                .detail("This shipping option does not ship to the address in this currency.");
                problem.errors = vec![FieldError::new(
                    "shipping_option_id",
                    "does not ship to this address",
                )];
                problem
            }
            Self::TaxUnavailable(detail) => {
                tracing::warn!(error.message = %detail, "tax provider unavailable");
                let mut problem =
                    Problem::unavailable("Tax cannot be computed right now; try again shortly.");
                problem.code = "PRC-0006".into();
                problem.retry_after = Some(5);
                problem
            }
            Self::Problem(problem) => *problem,
            Self::Unexpected(e) => Problem::unexpected(&e),
        };
        problem.into_response()
    }
}
