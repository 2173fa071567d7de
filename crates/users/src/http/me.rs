//! The caller's own account: profile, password, address book.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use platform::{Problem, auth::AuthUser, http::extract::ValidJson};
use uuid::Uuid;

use super::{
    UsersState,
    dto::{
        AddressIn, AddressList, AddressOut, AddressPatchIn, PasswordChangeIn, ProfileIn, UserOut,
    },
};
use crate::{domain::address::AddressPatch, error::Result};

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserOut), (status = 401, body = Problem)))]
pub(super) async fn get_me(
    State(state): State<UsersState>,
    caller: AuthUser,
) -> Result<Json<UserOut>> {
    Ok(Json(state.service.me(caller.id).await?.into()))
}

/// Change name or phone (null removes the phone).
#[utoipa::path(patch, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), request_body = ProfileIn,
    responses((status = 200, body = UserOut), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn update_me(
    State(state): State<UsersState>,
    caller: AuthUser,
    ValidJson(body): ValidJson<ProfileIn>,
) -> Result<Json<UserOut>> {
    let phone = body.phone.as_ref().map(Option::as_deref);
    let account = state
        .service
        .update_profile(caller.id, body.name.as_deref(), phone)
        .await?;
    Ok(Json(account.into()))
}

/// Change the password; every other session ends.
#[utoipa::path(post, path = "/api/v1/users/me/password", tag = "users", security(("bearer" = [])),
    request_body = PasswordChangeIn,
    responses((status = 204), (status = 403, body = Problem, description = "wrong current password"),
              (status = 422, body = Problem)))]
pub(super) async fn change_password(
    State(state): State<UsersState>,
    caller: AuthUser,
    ValidJson(body): ValidJson<PasswordChangeIn>,
) -> Result<StatusCode> {
    state
        .service
        .change_password(&caller, &body.current_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail another email-verification link.
#[utoipa::path(post, path = "/api/v1/users/me/email-verification", tag = "users", security(("bearer" = [])),
    responses((status = 202), (status = 409, body = Problem, description = "already verified")))]
pub(super) async fn request_email_verification(
    State(state): State<UsersState>,
    caller: AuthUser,
) -> Result<StatusCode> {
    state.service.request_email_verification(&caller).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The caller's address book, whole.
#[utoipa::path(get, path = "/api/v1/users/me/addresses", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = AddressList)))]
pub(super) async fn list_addresses(
    State(state): State<UsersState>,
    caller: AuthUser,
) -> Result<Json<AddressList>> {
    let items = state
        .service
        .addresses(&caller)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(AddressList {
        items,
        next_cursor: None,
    }))
}

/// Add an address.
#[utoipa::path(post, path = "/api/v1/users/me/addresses", tag = "users", security(("bearer" = [])),
    request_body = AddressIn,
    responses((status = 201, body = AddressOut), (status = 409, body = Problem, description = "the book holds 50 addresses already"), (status = 422, body = Problem)))]
pub(super) async fn add_address(
    State(state): State<UsersState>,
    caller: AuthUser,
    ValidJson(body): ValidJson<AddressIn>,
) -> Result<(StatusCode, Json<AddressOut>)> {
    let stored = state.service.add_address(&caller, &body.input()).await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// Change some fields of an address.
#[utoipa::path(patch, path = "/api/v1/users/me/addresses/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "address id")), request_body = AddressPatchIn,
    responses((status = 200, body = AddressOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn update_address(
    State(state): State<UsersState>,
    caller: AuthUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<AddressPatchIn>,
) -> Result<Json<AddressOut>> {
    let id = parse_id(&id)?;
    let patch = AddressPatch {
        name: body.name,
        line1: body.line1,
        line2: body.line2,
        city: body.city,
        region: body.region,
        postal_code: body.postal_code,
        country: body.country,
        phone: body.phone,
    };
    Ok(Json(
        state
            .service
            .update_address(&caller, id, &patch)
            .await?
            .into(),
    ))
}

/// Remove an address.
#[utoipa::path(delete, path = "/api/v1/users/me/addresses/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "address id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub(super) async fn delete_address(
    State(state): State<UsersState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state
        .service
        .delete_address(&caller, parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A path id that is not a UUID names nothing: 404, like an unknown one.
pub(super) fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| crate::error::UsersError::NotFound("resource"))
}
