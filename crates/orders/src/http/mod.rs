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
    let providers = state.service.payment_providers().to_vec();
    let (router, mut api) = OpenApiRouter::with_openapi(OrdersApi::openapi())
        .routes(routes!(orders::place, orders::list))
        .routes(routes!(orders::summary))
        .routes(routes!(orders::get))
        .routes(routes!(orders::cancel))
        .routes(routes!(orders::ship))
        .routes(routes!(orders::deliver))
        .with_state(state)
        .split_for_parts();
    offered_providers(&mut api, providers);
    (router, api)
}

/// The document names the providers this deployment offers, which only its
/// configuration knows.
fn offered_providers(api: &mut utoipa::openapi::OpenApi, providers: Vec<String>) {
    use utoipa::openapi::{RefOr, Schema};
    let place = api
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("PlaceOrderIn"));
    if let Some(RefOr::T(Schema::Object(place))) = place
        && let Some(RefOr::T(Schema::Object(provider))) =
            place.properties.get_mut("payment_provider")
    {
        provider.enum_values = Some(providers.into_iter().map(Into::into).collect());
    }
}
