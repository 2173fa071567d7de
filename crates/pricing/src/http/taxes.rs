//! `/api/v1/tax-rates`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use platform::{Problem, auth::AdminUser, http::extract::ValidJson};

use super::{
    PricingState,
    dto::{TaxRateIn, TaxRateList, TaxRateOut, TaxRatePatch},
    parse_id,
};
use crate::error::Result;

/// Create a tax rate: one per country (and region).
#[utoipa::path(post, path = "/api/v1/tax-rates", tag = "pricing", security(("bearer" = [])), request_body = TaxRateIn,
    responses((status = 201, body = TaxRateOut), (status = 403, body = Problem, description = "not an admin"), (status = 409, body = Problem, description = "the place has a rate"), (status = 422, body = Problem)))]
pub(super) async fn create(
    State(state): State<PricingState>,
    _admin: AdminUser,
    ValidJson(body): ValidJson<TaxRateIn>,
) -> Result<(StatusCode, Json<TaxRateOut>)> {
    let rate = state.service.create_rate(body.into()).await?;
    Ok((StatusCode::CREATED, Json(rate.into())))
}

/// Every tax rate.
#[utoipa::path(get, path = "/api/v1/tax-rates", tag = "pricing", security(("bearer" = [])),
    responses((status = 200, body = TaxRateList), (status = 403, body = Problem, description = "not an admin")))]
pub(super) async fn list(
    State(state): State<PricingState>,
    _admin: AdminUser,
) -> Result<Json<TaxRateList>> {
    let rates = state.service.rates().await?;
    Ok(Json(TaxRateList {
        items: rates.into_iter().map(Into::into).collect(),
    }))
}

/// Change a tax rate.
#[utoipa::path(patch, path = "/api/v1/tax-rates/{id}", tag = "pricing", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = TaxRatePatch,
    responses((status = 200, body = TaxRateOut), (status = 403, body = Problem, description = "not an admin"), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn update(
    State(state): State<PricingState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<TaxRatePatch>,
) -> Result<Json<TaxRateOut>> {
    let rate = state
        .service
        .update_rate(
            parse_id(&id, "tax rate")?,
            |current| Ok(body.apply(current)),
        )
        .await?;
    Ok(Json(rate.into()))
}

/// Delete a tax rate.
#[utoipa::path(delete, path = "/api/v1/tax-rates/{id}", tag = "pricing", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem, description = "not an admin"), (status = 404, body = Problem)))]
pub(super) async fn delete(
    State(state): State<PricingState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state
        .service
        .delete_rate(parse_id(&id, "tax rate")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
