//! The orders HTTP API.

pub mod dto;
mod orders;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{auth::Verifier, http::openapi::BearerAuth};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::service::OrdersService;

/// What every orders handler can reach.
#[derive(Clone)]
pub struct OrdersState {
    /// The use cases.
    pub service: Arc<OrdersService>,
    /// Access-token checks.
    pub verifier: Verifier,
}

impl FromRef<OrdersState> for Verifier {
    fn from_ref(state: &OrdersState) -> Self {
        state.verifier.clone()
    }
}

#[derive(OpenApi)]
#[openapi(modifiers(&BearerAuth), tags((name = "orders", description = "Checkout, order status and history")))]
struct OrdersApi;

/// The orders routes and their OpenAPI document.
pub fn router(state: OrdersState) -> (axum::Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(OrdersApi::openapi())
        .routes(routes!(orders::place, orders::list))
        .routes(routes!(orders::get))
        .routes(routes!(orders::cancel))
        .routes(routes!(orders::ship))
        .routes(routes!(orders::deliver))
        .with_state(state)
        .split_for_parts()
}
