//! Administration of accounts.

use axum::{
    Json,
    extract::{Path, State},
};
use platform::{
    Problem,
    auth::AdminUser,
    http::{
        extract::{ValidJson, ValidQuery},
        pagination::PageRequest,
    },
};

use super::{
    UsersState,
    dto::{AccessIn, UserListQuery, UserOut, UserPage},
    me::parse_id,
};
use crate::{error::Result, service::AccessChange};

/// List accounts, newest first, optionally by part of the email.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(UserListQuery),
    responses((status = 200, body = UserPage), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "bad limit or cursor")))]
pub(super) async fn list_users(
    State(state): State<UsersState>,
    _admin: AdminUser,
    ValidQuery(query): ValidQuery<UserListQuery>,
) -> Result<Json<UserPage>> {
    let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let email = query
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let page = state
        .service
        .list_accounts(email, &page)
        .await?
        .map(UserOut::from);
    Ok(Json(UserPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "user id")),
    responses((status = 403, body = Problem, description = "not an admin"), (status = 200, body = UserOut), (status = 404, body = Problem)))]
pub(super) async fn get_user(
    State(state): State<UsersState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Json<UserOut>> {
    Ok(Json(state.service.account(parse_id(&id)?).await?.into()))
}

/// Change an account's role or disable it (which ends its sessions).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "user id")), request_body = AccessIn,
    responses((status = 403, body = Problem, description = "not an admin"), (status = 200, body = UserOut), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "an admin cannot lock themselves out")))]
pub(super) async fn update_user(
    State(state): State<UsersState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<AccessIn>,
) -> Result<Json<UserOut>> {
    let change = AccessChange {
        role: body.role,
        disabled: body.disabled,
    };
    Ok(Json(
        state
            .service
            .change_access(&admin, parse_id(&id)?, change)
            .await?
            .into(),
    ))
}
