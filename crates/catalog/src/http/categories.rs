//! Category routes.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use platform::{Problem, auth::AdminUser, http::extract::ValidJson};

use super::{
    CatalogState,
    dto::{CategoryIn, CategoryList, CategoryOut, CategoryPatch},
    parse_id,
};
use crate::error::Result;

/// Every category (a tree through `parent_id`).
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog", responses((status = 200, body = CategoryList)))]
pub(super) async fn list(State(state): State<CatalogState>) -> Result<Json<CategoryList>> {
    let items = state
        .service
        .categories()
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(CategoryList {
        items,
        next_cursor: None,
    }))
}

/// Create a category.
#[utoipa::path(post, path = "/api/v1/categories", tag = "catalog", security(("bearer" = [])), request_body = CategoryIn,
    responses((status = 403, body = Problem, description = "not an admin"), (status = 201, body = CategoryOut), (status = 409, body = Problem, description = "slug taken"),
              (status = 422, body = Problem, description = "invalid, or unknown parent")))]
pub(super) async fn create(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    ValidJson(body): ValidJson<CategoryIn>,
) -> Result<(StatusCode, Json<CategoryOut>)> {
    let category = state
        .service
        .create_category(&body.slug, &body.name, body.parent_id)
        .await?;
    Ok((StatusCode::CREATED, Json(category.into())))
}

/// Change a category.
#[utoipa::path(patch, path = "/api/v1/categories/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = CategoryPatch,
    responses((status = 403, body = Problem, description = "not an admin"), (status = 200, body = CategoryOut), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub(super) async fn update(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<CategoryPatch>,
) -> Result<Json<CategoryOut>> {
    let id = parse_id(&id, "category")?;
    let category = state
        .service
        .update_category(
            id,
            body.slug.as_deref(),
            body.name.as_deref(),
            body.parent_id,
        )
        .await?;
    Ok(Json(category.into()))
}

/// Delete a category without sub-categories or products.
#[utoipa::path(delete, path = "/api/v1/categories/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses((status = 403, body = Problem, description = "not an admin"), (status = 204), (status = 404, body = Problem), (status = 409, body = Problem, description = "in use")))]
pub(super) async fn delete(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state
        .service
        .delete_category(parse_id(&id, "category")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
