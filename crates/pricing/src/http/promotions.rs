//! `/api/v1/promotions`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
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
    PricingState,
    dto::{PageQuery, PromotionIn, PromotionOut, PromotionPage, PromotionPatch},
    parse_id,
};
use crate::error::{PricingError, Result};

/// Create a promotion: with a code, or automatic without one.
#[utoipa::path(post, path = "/api/v1/promotions", tag = "pricing", security(("bearer" = [])), request_body = PromotionIn,
    responses((status = 201, body = PromotionOut), (status = 403, body = Problem, description = "not an admin"), (status = 409, body = Problem, description = "code taken"), (status = 422, body = Problem)))]
pub(super) async fn create(
    State(state): State<PricingState>,
    _admin: AdminUser,
    ValidJson(body): ValidJson<PromotionIn>,
) -> Result<(StatusCode, Json<PromotionOut>)> {
    let promotion = body.into_promotion().map_err(PricingError::Validation)?;
    let created = state.service.create_promotion(promotion).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Promotions, oldest first, with how often each is used.
#[utoipa::path(get, path = "/api/v1/promotions", tag = "pricing", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = PromotionPage), (status = 403, body = Problem, description = "not an admin"), (status = 422, body = Problem)))]
pub(super) async fn list(
    State(state): State<PricingState>,
    _admin: AdminUser,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Json<PromotionPage>> {
    let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let page = state.service.promotions(&page).await?;
    Ok(Json(PromotionPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A promotion.
#[utoipa::path(get, path = "/api/v1/promotions/{id}", tag = "pricing", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = PromotionOut), (status = 403, body = Problem, description = "not an admin"), (status = 404, body = Problem)))]
pub(super) async fn get(
    State(state): State<PricingState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Json<PromotionOut>> {
    let found = state.service.promotion(parse_id(&id, "promotion")?).await?;
    Ok(Json(found.into()))
}

/// Change a promotion.
#[utoipa::path(patch, path = "/api/v1/promotions/{id}", tag = "pricing", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = PromotionPatch,
    responses((status = 200, body = PromotionOut), (status = 403, body = Problem, description = "not an admin"), (status = 404, body = Problem), (status = 409, body = Problem, description = "code taken"), (status = 422, body = Problem)))]
pub(super) async fn update(
    State(state): State<PricingState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<PromotionPatch>,
) -> Result<Json<PromotionOut>> {
    let changed = state
        .service
        .update_promotion(parse_id(&id, "promotion")?, |current| body.apply(current))
        .await?;
    Ok(Json(changed.into()))
}

/// Delete a promotion: carts no longer get it; placed orders keep their discount.
#[utoipa::path(delete, path = "/api/v1/promotions/{id}", tag = "pricing", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem, description = "not an admin"), (status = 404, body = Problem)))]
pub(super) async fn delete(
    State(state): State<PricingState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state
        .service
        .delete_promotion(parse_id(&id, "promotion")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
