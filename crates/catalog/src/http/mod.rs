//! The catalog HTTP API: categories, products, inventory.

mod categories;
pub mod dto;
mod inventory;
mod products;

use platform::http::openapi::BearerAuth;
use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::FromRef,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use platform::auth::Verifier;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::service::CatalogService;

/// What every catalog handler can reach.
#[derive(Clone)]
pub struct CatalogState {
    /// The use cases.
    pub service: Arc<CatalogService>,
    /// Access-token checks.
    pub verifier: Verifier,
}

impl FromRef<CatalogState> for Verifier {
    fn from_ref(state: &CatalogState) -> Self {
        state.verifier.clone()
    }
}

#[derive(OpenApi)]
#[openapi(modifiers(&BearerAuth), tags((name = "catalog", description = "Categories, products, inventory")))]
struct CatalogApi;

/// The catalog routes and their OpenAPI document.
pub fn router(state: CatalogState) -> (axum::Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(CatalogApi::openapi())
        .routes(routes!(categories::list, categories::create))
        .routes(routes!(categories::update, categories::delete))
        .routes(routes!(products::list, products::create))
        .routes(routes!(products::get, products::update, products::delete))
        .routes(routes!(products::variant))
        .routes(routes!(inventory::list))
        .routes(routes!(inventory::get))
        .routes(routes!(inventory::adjust))
        .with_state(state)
        .split_for_parts()
}

/// A JSON body with a strong ETag, answering 304 when the client has it.
/// Public reads may be cached by anyone for `max_age` seconds; what an admin
/// sees (drafts) is never cached.
pub(crate) fn cached_json<T: serde::Serialize>(
    request: &HeaderMap,
    body: &T,
    public_max_age: Option<u64>,
) -> Response {
    match render(body) {
        Some((bytes, etag)) => respond(request, bytes, &etag, public_max_age),
        None => platform::Problem::internal().into_response(),
    }
}

/// Serialises `body` and tags it with a digest of the bytes.
pub(crate) fn render<T: serde::Serialize>(body: &T) -> Option<(Bytes, HeaderValue)> {
    let bytes = serde_json::to_vec(body).ok()?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    let mut etag = String::with_capacity(34);
    etag.push('"');
    for b in &digest.as_ref()[..16] {
        use std::fmt::Write as _;
        let _ = write!(etag, "{b:02x}");
    }
    etag.push('"');
    Some((Bytes::from(bytes), HeaderValue::from_str(&etag).ok()?))
}

/// The response for a rendered body: 304 when the client holds `etag`.
pub(crate) fn respond(
    request: &HeaderMap,
    bytes: Bytes,
    etag: &HeaderValue,
    public_max_age: Option<u64>,
) -> Response {
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .zip(etag.to_str().ok())
        .is_some_and(|(v, etag)| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
    };
    response.headers_mut().insert(header::ETAG, etag.clone());
    let cache = match public_max_age {
        Some(age) => HeaderValue::from_str(&format!("public, max-age={age}")).ok(),
        None => Some(HeaderValue::from_static("private, no-store")),
    };
    if let Some(value) = cache {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// A path id that is not a UUID names nothing: 404.
pub(crate) fn parse_id(raw: &str, what: &'static str) -> crate::error::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| crate::error::CatalogError::NotFound(what))
}
