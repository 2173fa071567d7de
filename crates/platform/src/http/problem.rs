//! RFC 9457 problem details: the one shape of every error response.
//!
//! A handler's error converts into a [`Problem`]; [`Problem::into_response`]
//! stores it in the response extensions and the `observe` layer writes the
//! body, adding the request id, which a handler does not know.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::PROBLEM_JSON;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a dotted path into the request body (`items.0.quantity`).
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document, served as `application/problem+json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, for programs.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem, for people.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time; never internal details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable error code, e.g. `IDN-0003`.
    pub code: String,
    /// Invalid fields (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request id echoed in `X-Request-Id`; links a report to the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Extension members particular to one kind of problem (RFC 9457 §3.2),
    /// such as `available` on an out-of-stock problem.
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
    /// Seconds to wait before retrying (429 and 503); also sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// Send `WWW-Authenticate: Bearer` (401).
    #[serde(skip)]
    pub bearer_challenge: bool,
}

const TYPE_BASE: &str = "https://mercato.dev/problems/";

impl Problem {
    /// A problem of the given status; `slug` completes the type URI.
    pub fn new(status: StatusCode, slug: &str, code: &str, title: &str) -> Self {
        Self {
            type_uri: format!("{TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            code: code.to_owned(),
            errors: Vec::new(),
            request_id: None,
            extensions: serde_json::Map::new(),
            retry_after: None,
            bearer_challenge: false,
        }
    }

    /// Adds the detail for this occurrence.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// 400: the request cannot be parsed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "GEN-0400",
            "Bad request",
        )
        .detail(detail)
    }

    /// 422 with field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "GEN-0422",
            "Validation failed",
        )
        .detail("One or more fields are invalid.");
        problem.errors = errors;
        problem
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "GEN-0401",
            "Authentication required",
        )
        .detail(detail);
        problem.bearer_challenge = true;
        problem
    }

    /// 403: authenticated, not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "GEN-0403", "Forbidden").detail(detail)
    }

    /// 404: no such resource (or not the caller's).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "GEN-0404", "Not found").detail(detail)
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "GEN-0429",
            "Too many requests",
        )
        .detail(detail);
        problem.retry_after = Some(retry_after_secs.max(1));
        problem
    }

    /// 500: opaque to the client; the cause goes to the log only.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "GEN-0500",
            "Internal server error",
        )
        .detail("The server could not complete the request; it has been logged.")
    }

    /// The answer to a failure no rule expected, logged with its cause
    /// (which the client never sees): a 503 with `Retry-After` when the
    /// database cannot be reached (the gateway then tries elsewhere or the
    /// client later), else an opaque 500.
    pub fn unexpected(error: &anyhow::Error) -> Self {
        if crate::db::is_unreachable(error) {
            tracing::warn!(error.message = %error, "database unreachable");
            let mut problem =
                Self::unavailable("The database cannot be reached; try again shortly.");
            problem.retry_after = Some(5);
            return problem;
        }
        tracing::error!(error.message = %error, error.cause_chain = ?error, "request failed");
        Self::internal()
    }

    /// 503: a dependency is unavailable.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "GEN-0503",
            "Service unavailable",
        )
        .detail(detail)
    }

    /// A problem for a bare status produced by the framework or a layer
    /// (no route, wrong method, timeout, body too large...).
    pub fn from_status(status: StatusCode) -> Self {
        // Bare 502 and 504 come from the gateway only (its edge renders
        // them), bare 503 from the request deadline or the gateway: each may
        // be tried again shortly.
        let (slug, detail, retry_after) = match status {
            StatusCode::NOT_FOUND => ("not-found", "No resource at this path.", None),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method-not-allowed",
                "This method is not allowed on this path.",
                None,
            ),
            StatusCode::REQUEST_TIMEOUT => (
                "timeout",
                "The request took too long and was abandoned.",
                None,
            ),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload-too-large", "The request body is too large.", None)
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported-media-type",
                "Send the body as application/json.",
                None,
            ),
            StatusCode::BAD_GATEWAY => (
                "bad-gateway",
                "No instance of the service answered; try again shortly.",
                Some(2),
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                "unavailable",
                "The service could not answer in time; try again shortly.",
                Some(2),
            ),
            StatusCode::GATEWAY_TIMEOUT => (
                "gateway-timeout",
                "The service did not answer in time; whether a write took effect is unknown, so repeat it with the same Idempotency-Key.",
                Some(2),
            ),
            s if s.is_server_error() => (
                "internal",
                "The server could not complete the request; it has been logged.",
                None,
            ),
            _ => ("http-error", "The request could not be served.", None),
        };
        let mut problem = Self::new(
            status,
            slug,
            &format!("GEN-{:04}", status.as_u16()),
            status.canonical_reason().unwrap_or("Error"),
        )
        .detail(detail);
        problem.retry_after = retry_after;
        problem
    }

    /// The status as a `StatusCode`.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Renders the final response (body, content type and headers).
    pub fn render(&self) -> Response {
        let body = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status_code(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.bearer_challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        // Rendered now so that a router used without the `observe` layer still
        // answers correctly; the layer re-renders it with the request id.
        let mut response = self.render();
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_problem_lists_its_fields() {
        let problem = Problem::invalid_field("email", "is not an email address");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"][0]["field"], "email");
        assert_eq!(json["type"], "https://mercato.dev/problems/validation");
    }

    #[test]
    fn a_rate_limit_problem_sets_retry_after() {
        let response = Problem::too_many_requests(42, "slow down").render();
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
