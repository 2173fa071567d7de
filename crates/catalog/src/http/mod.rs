//! The catalog HTTP API: categories, products, inventory.

mod categories;
pub mod dto;
mod inventory;
mod products;

use platform::http::openapi::BearerAuth;
use std::sync::Arc;

use axum::{
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
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        Err(_) => return platform::Problem::internal().into_response(),
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    let tag: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let etag = format!("\"{tag}\"");
    let cache = public_max_age.map_or_else(
        || "private, no-store".to_owned(),
        |age| format!("public, max-age={age}"),
    );
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// A path id that is not a UUID names nothing: 404.
pub(crate) fn parse_id(raw: &str, what: &'static str) -> crate::error::Result<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| crate::error::CatalogError::NotFound(what))
}
