//! The cart service's errors. Codes `CRT-*`:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | CRT-0001 | 404 | no such cart, line or variant (or not the caller's) |
//! | CRT-0002 | 409 | not enough stock; `available` says how many are |
//! | CRT-0003 | 503 | the catalog cannot be reached |
//! | CRT-0004 | 409 | the variant (or guest cart) is priced in another currency than the cart |
//! | CRT-0005 | 503 | pricing cannot be reached |
//! | CRT-0006 | 422 | a promotion code cannot apply; the type says why (`promotions/expired`, ...) |

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{FieldError, Problem};

/// Everything a cart request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    /// Fields failed validation.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// Not found, or not the caller's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Not enough stock.
    #[error("only {available} available")]
    OutOfStock {
        /// Units available now.
        available: i64,
    },
    /// A price in another currency than the cart's, which never changes.
    #[error("priced in {variant}; the cart is in {cart}")]
    CurrencyMismatch {
        /// The currency of what was added.
        variant: String,
        /// The cart's currency.
        cart: String,
    },
    /// The catalog did not answer.
    #[error("catalog unavailable: {0}")]
    CatalogUnavailable(String),
    /// Pricing did not answer.
    #[error("pricing unavailable: {0}")]
    PricingUnavailable(String),
    /// A code that cannot apply.
    #[error("code {code}: {message}")]
    CodeRefused {
        /// The code, upper-cased.
        code: String,
        /// The problem type's slug after `promotions/`.
        reason: String,
        /// What the customer reads.
        message: String,
    },
    /// A problem the shared plumbing decided (shared validation,
    /// idempotency): answered as it is, whatever its status.
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CartError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

impl From<Problem> for CartError {
    fn from(problem: Problem) -> Self {
        Self::Problem(Box::new(problem))
    }
}

/// Result of a cart operation.
pub type Result<T, E = CartError> = std::result::Result<T, E>;

impl CartError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for CartError {
    fn into_response(self) -> Response {
        let problem = match self {
            Self::Validation(errors) => Problem::validation(errors),
            Self::NotFound(what) => {
                let mut problem = Problem::not_found(format!("No such {what}."));
                problem.code = "CRT-0001".into();
                problem
            }
            Self::OutOfStock { available } => Problem::new(
                StatusCode::CONFLICT,
                "cart/out-of-stock",
                "CRT-0002",
                "Not enough stock",
            )
            .detail(format!("Only {available} available."))
            .with("available", available),
            Self::CurrencyMismatch { variant, cart } => Problem::new(
                StatusCode::CONFLICT,
                "cart/currency-mismatch",
                "CRT-0004",
                "Another currency than the cart's",
            )
            .detail(format!(
                "This is priced in {variant}; the cart is in {cart}, and a cart's currency never changes. Open a cart in {variant} for it."
            ))
            .with("cart_currency", cart),
            Self::CatalogUnavailable(detail) => {
                tracing::warn!(error.message = %detail, "catalog unavailable");
                let mut problem =
                    Problem::unavailable("The catalog cannot be reached; try again shortly.");
                problem.code = "CRT-0003".into();
                problem.retry_after = Some(5);
                problem
            }
            Self::PricingUnavailable(detail) => {
                tracing::warn!(error.message = %detail, "pricing unavailable");
                let mut problem =
                    Problem::unavailable("Prices cannot be computed right now; try again shortly.");
                problem.code = "CRT-0005".into();
                problem.retry_after = Some(5);
                problem
            }
            Self::CodeRefused {
                code,
                reason,
                message,
            } => contracts::clients::pricing::refusal_problem("CRT-0006", &code, &reason, &message),
            Self::Problem(problem) => *problem,
            Self::Unexpected(e) => Problem::unexpected(&e),
        };
        problem.into_response()
    }
}
