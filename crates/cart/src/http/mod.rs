//! The cart HTTP API.

mod carts;
pub mod dto;

use platform::http::openapi::BearerAuth;
use std::sync::Arc;

use axum::extract::FromRef;
use platform::auth::Verifier;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::service::CartService;

/// What every cart handler can reach.
#[derive(Clone)]
pub struct CartState {
    /// The use cases.
    pub service: Arc<CartService>,
    /// Access-token checks.
    pub verifier: Verifier,
}

impl FromRef<CartState> for Verifier {
    fn from_ref(state: &CartState) -> Self {
        state.verifier.clone()
    }
}

#[derive(OpenApi)]
#[openapi(modifiers(&BearerAuth), tags((name = "cart", description = "Guest and customer carts")))]
struct CartApi;

/// The cart routes and their OpenAPI document.
pub fn router(state: CartState) -> (axum::Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(CartApi::openapi())
        .routes(routes!(carts::open))
        .routes(routes!(carts::mine))
        .routes(routes!(carts::get))
        .routes(routes!(carts::add_item))
        .routes(routes!(carts::set_quantity, carts::remove_item))
        .routes(routes!(carts::claim))
        .routes(routes!(carts::apply_promotion))
        .routes(routes!(carts::remove_promotion))
        .routes(routes!(carts::shipping_options))
        .routes(routes!(carts::checkout))
        .with_state(state)
        .split_for_parts()
}
