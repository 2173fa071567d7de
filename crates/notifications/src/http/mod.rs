//! The notifications HTTP API.

pub mod dto;
mod notifications;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::{auth::Verifier, http::openapi::BearerAuth};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::service::NotificationsService;

/// What every notifications handler can reach.
#[derive(Clone)]
pub struct NotificationsState {
    /// The use cases.
    pub service: Arc<NotificationsService>,
    /// Access-token checks.
    pub verifier: Verifier,
}

impl FromRef<NotificationsState> for Verifier {
    fn from_ref(state: &NotificationsState) -> Self {
        state.verifier.clone()
    }
}

#[derive(OpenApi)]
#[openapi(modifiers(&BearerAuth), tags((name = "notifications", description = "Messages sent to customers and their preferences")))]
struct NotificationsApi;

/// The notifications routes and their OpenAPI document.
pub fn router(state: NotificationsState) -> (axum::Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(NotificationsApi::openapi())
        .routes(routes!(notifications::list))
        .routes(routes!(
            notifications::preferences,
            notifications::set_preferences
        ))
        .with_state(state)
        .split_for_parts()
}
