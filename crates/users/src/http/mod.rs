//! The users HTTP API. Handlers parse and authorize, call the service, and
//! shape the answer; nothing else.

mod admin;
mod auth;
pub mod dto;
mod me;

use platform::http::openapi::BearerAuth;
use std::sync::Arc;

use axum::extract::FromRef;
use platform::auth::Verifier;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::service::UsersService;

/// What every users handler can reach.
#[derive(Clone)]
pub struct UsersState {
    /// The use cases.
    pub service: Arc<UsersService>,
    /// Access-token checks.
    pub verifier: Verifier,
}

impl FromRef<UsersState> for Verifier {
    fn from_ref(state: &UsersState) -> Self {
        state.verifier.clone()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Mercato", description = "Mercato public API (v1)"),
    modifiers(&BearerAuth),
    components(schemas(platform::Problem, platform::FieldError)),
    tags((name = "auth", description = "Registration, login, sessions"),
         (name = "users", description = "Profiles, address books, administration"))
)]
struct UsersApi;

/// The users routes and their OpenAPI document.
pub fn router(state: UsersState) -> (axum::Router, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(UsersApi::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::request_password_reset))
        .routes(routes!(auth::confirm_password_reset))
        .routes(routes!(auth::verify_email))
        .routes(routes!(auth::jwks))
        .routes(routes!(me::get_me, me::update_me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::request_email_verification))
        .routes(routes!(me::list_addresses, me::add_address))
        .routes(routes!(me::update_address, me::delete_address))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::get_user, admin::update_user))
        .with_state(state)
        .split_for_parts()
}
