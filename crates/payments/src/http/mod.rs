//! The payments HTTP API.

pub mod dto;
mod payments;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{auth::Verifier, http::openapi::BearerAuth};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::service::PaymentsService;

/// What every payments handler can reach.
#[derive(Clone)]
pub struct PaymentsState {
    /// The use cases.
    pub service: Arc<PaymentsService>,
    /// Access-token checks.
    pub verifier: Verifier,
}

impl FromRef<PaymentsState> for Verifier {
    fn from_ref(state: &PaymentsState) -> Self {
        state.verifier.clone()
    }
}

#[derive(OpenApi)]
#[openapi(modifiers(&BearerAuth), tags((name = "payments", description = "Payments, refunds and provider webhooks")))]
struct PaymentsApi;

/// The payments routes and their OpenAPI document.
pub fn router(state: PaymentsState) -> (axum::Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(PaymentsApi::openapi())
        .routes(routes!(payments::list))
        .routes(routes!(payments::get))
        .routes(routes!(payments::confirm))
        .routes(routes!(payments::refund))
        .routes(routes!(payments::stripe_webhook))
        .routes(routes!(payments::paypal_webhook))
        .with_state(state)
        .split_for_parts()
}
