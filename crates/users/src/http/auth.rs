//! Registration, login and session routes.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use platform::{
    Problem,
    http::extract::{ClientIp, ValidJson},
};

use super::{
    UsersState,
    dto::{
        LoginIn, RefreshIn, RegisterIn, ResetConfirmIn, ResetRequestIn, TokensOut, VerifyEmailIn,
    },
};
use crate::error::Result;

/// Create a customer account; answers with a logged-in session.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterIn,
    responses((status = 201, body = TokensOut), (status = 409, body = Problem, description = "email taken"),
              (status = 422, body = Problem, description = "invalid fields")))]
pub(super) async fn register(
    State(state): State<UsersState>,
    ValidJson(body): ValidJson<RegisterIn>,
) -> Result<(StatusCode, Json<TokensOut>)> {
    let session = state
        .service
        .register(&body.email, &body.password, &body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(session.into())))
}

/// Log in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = TokensOut),
              (status = 401, body = Problem, description = "wrong email or password, or disabled account"),
              (status = 429, body = Problem, description = "too many failures; see Retry-After")))]
pub(super) async fn login(
    State(state): State<UsersState>,
    ClientIp(client): ClientIp,
    ValidJson(body): ValidJson<LoginIn>,
) -> Result<Json<TokensOut>> {
    let session = state
        .service
        .login(&body.email, &body.password, client)
        .await?;
    Ok(Json(session.into()))
}

/// Exchange a refresh token for a new pair; the old one stops working.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshIn,
    responses((status = 200, body = TokensOut),
              (status = 401, body = Problem, description = "unknown, used, revoked or expired token")))]
pub(super) async fn refresh(
    State(state): State<UsersState>,
    ValidJson(body): ValidJson<RefreshIn>,
) -> Result<Json<TokensOut>> {
    Ok(Json(
        state.service.refresh(&body.refresh_token).await?.into(),
    ))
}

/// End the session of a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshIn,
    responses((status = 204)))]
pub(super) async fn logout(
    State(state): State<UsersState>,
    ValidJson(body): ValidJson<RefreshIn>,
) -> Result<StatusCode> {
    state.service.logout(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a password-reset link if the account exists (the answer is the same either way).
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = ResetRequestIn,
    responses((status = 202), (status = 422, body = Problem, description = "not an email address")))]
pub(super) async fn request_password_reset(
    State(state): State<UsersState>,
    ValidJson(body): ValidJson<ResetRequestIn>,
) -> Result<StatusCode> {
    state.service.request_password_reset(&body.email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with the mailed token; ends every session.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmIn,
    responses((status = 204), (status = 422, body = Problem, description = "bad token or password")))]
pub(super) async fn confirm_password_reset(
    State(state): State<UsersState>,
    ValidJson(body): ValidJson<ResetConfirmIn>,
) -> Result<StatusCode> {
    state
        .service
        .confirm_password_reset(&body.token, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Verify the email address with the mailed token.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailIn,
    responses((status = 204), (status = 422, body = Problem, description = "bad token")))]
pub(super) async fn verify_email(
    State(state): State<UsersState>,
    ValidJson(body): ValidJson<VerifyEmailIn>,
) -> Result<StatusCode> {
    state.service.verify_email(&body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "a JWK set of Ed25519 keys")))]
pub(super) async fn jwks(State(state): State<UsersState>) -> Result<impl IntoResponse> {
    let body = state.service.keys().jwks().await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(body),
    ))
}
