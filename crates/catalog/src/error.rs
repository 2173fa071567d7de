//! The catalog service's errors. Codes `CAT-*`:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | CAT-0001 | 409 | slug taken (product or category) |
//! | CAT-0002 | 409 | SKU taken by another product |
//! | CAT-0003 | 409 | category still has children or products |
//! | CAT-0004 | 404 | no such product, category or SKU |
//! | CAT-0005 | 409 | the adjustment would make available stock negative |

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{FieldError, Problem};

/// Everything a catalog request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Fields failed validation.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// The slug is taken.
    #[error("slug taken")]
    SlugTaken,
    /// A SKU is taken.
    #[error("sku taken")]
    SkuTaken,
    /// The category is in use.
    #[error("category in use")]
    CategoryInUse,
    /// The named thing does not exist, or the caller may not see it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Not enough stock for an adjustment.
    #[error("insufficient stock: {0}")]
    InsufficientStock(String),
    /// A problem the shared plumbing decided (shared validation,
    /// idempotency): answered as it is, whatever its status.
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// Anything else: logged, answered as an opaque 500.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

impl From<Problem> for CatalogError {
    fn from(problem: Problem) -> Self {
        Self::Problem(Box::new(problem))
    }
}

/// Result of a catalog operation.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

impl CatalogError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for CatalogError {
    fn into_response(self) -> Response {
        let conflict = |slug, code, title, detail: String| {
            Problem::new(StatusCode::CONFLICT, slug, code, title).detail(detail)
        };
        let problem = match self {
            Self::Validation(errors) => Problem::validation(errors),
            Self::SlugTaken => conflict(
                "catalog/slug-taken",
                "CAT-0001",
                "Slug taken",
                "Another item uses this slug.".into(),
            ),
            Self::SkuTaken => conflict(
                "catalog/sku-taken",
                "CAT-0002",
                "SKU taken",
                "Another product uses one of these SKUs.".into(),
            ),
            Self::CategoryInUse => conflict(
                "catalog/category-in-use",
                "CAT-0003",
                "Category in use",
                "The category still has sub-categories or products.".into(),
            ),
            Self::NotFound(what) => {
                let mut problem = Problem::not_found(format!("No such {what}."));
                problem.code = "CAT-0004".into();
                problem
            }
            Self::InsufficientStock(detail) => conflict(
                "catalog/insufficient-stock",
                "CAT-0005",
                "Insufficient stock",
                detail,
            ),
            Self::Problem(problem) => *problem,
            Self::Unexpected(e) => Problem::unexpected(&e),
        };
        problem.into_response()
    }
}
