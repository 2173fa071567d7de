//! The pricing HTTP API: shipping options, tax rates and promotions for
//! admins; quotes for cart and orders.

pub mod dto;
mod promotions;
mod quotes;
mod shipping;
mod taxes;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{auth::Verifier, http::openapi::BearerAuth};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    error::{PricingError, Result},
    service::PricingService,
};

/// What every pricing handler can reach.
#[derive(Clone)]
pub struct PricingState {
    /// The use cases.
    pub service: Arc<PricingService>,
    /// Access-token checks.
    pub verifier: Verifier,
}

impl FromRef<PricingState> for Verifier {
    fn from_ref(state: &PricingState) -> Self {
        state.verifier.clone()
    }
}

fn parse_id(raw: &str, what: &'static str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| PricingError::NotFound(what))
}

#[derive(OpenApi)]
#[openapi(modifiers(&BearerAuth), tags((name = "pricing", description = "Shipping options, tax rates, promotions and quotes")))]
struct PricingApi;

/// The pricing routes and their OpenAPI document.
pub fn router(state: PricingState) -> (axum::Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(PricingApi::openapi())
        .routes(routes!(shipping::create, shipping::list))
        .routes(routes!(shipping::update, shipping::delete))
        .routes(routes!(taxes::create, taxes::list))
        .routes(routes!(taxes::update, taxes::delete))
        .routes(routes!(promotions::create, promotions::list))
        .routes(routes!(
            promotions::get,
            promotions::update,
            promotions::delete
        ))
        .routes(routes!(quotes::quote))
        .with_state(state)
        .split_for_parts()
}
