//! `/api/v1/shipping-options`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use platform::{
    Problem,
    auth::{AdminUser, MaybeAuthUser},
    http::extract::{ValidJson, ValidQuery},
};

use super::{
    PricingState,
    dto::{
        OptionsQuery, ShippingOptionIn, ShippingOptionList, ShippingOptionOut, ShippingOptionPatch,
    },
    parse_id,
};
use crate::error::Result;

/// Create a shipping option.
#[utoipa::path(post, path = "/api/v1/shipping-options", tag = "pricing", security(("bearer" = [])), request_body = ShippingOptionIn,
    responses((status = 201, body = ShippingOptionOut), (status = 403, body = Problem, description = "not an admin"), (status = 422, body = Problem)))]
pub(super) async fn create(
    State(state): State<PricingState>,
    _admin: AdminUser,
    ValidJson(body): ValidJson<ShippingOptionIn>,
) -> Result<(StatusCode, Json<ShippingOptionOut>)> {
    let option = state.service.create_option(body.into()).await?;
    Ok((StatusCode::CREATED, Json(option.into())))
}

/// The active options serving a country in a currency (admins without filters: all).
#[utoipa::path(get, path = "/api/v1/shipping-options", tag = "pricing", security((), ("bearer" = [])), params(OptionsQuery),
    responses((status = 200, body = ShippingOptionList), (status = 422, body = Problem)))]
pub(super) async fn list(
    State(state): State<PricingState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ValidQuery(query): ValidQuery<OptionsQuery>,
) -> Result<Json<ShippingOptionList>> {
    let admin = caller.is_some_and(|c| c.is_admin());
    let options = state
        .service
        .options(query.country.as_deref(), query.currency.as_deref(), admin)
        .await?;
    Ok(Json(ShippingOptionList {
        items: options.into_iter().map(Into::into).collect(),
    }))
}

/// Change a shipping option.
#[utoipa::path(patch, path = "/api/v1/shipping-options/{id}", tag = "pricing", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = ShippingOptionPatch,
    responses((status = 200, body = ShippingOptionOut), (status = 403, body = Problem, description = "not an admin"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn update(
    State(state): State<PricingState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<ShippingOptionPatch>,
) -> Result<Json<ShippingOptionOut>> {
    let option = state
        .service
        .update_option(parse_id(&id, "shipping option")?, |current| {
            Ok(body.apply(current))
        })
        .await?;
    Ok(Json(option.into()))
}

/// Delete a shipping option (placed orders keep theirs).
#[utoipa::path(delete, path = "/api/v1/shipping-options/{id}", tag = "pricing", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem, description = "not an admin"), (status = 404, body = Problem)))]
pub(super) async fn delete(
    State(state): State<PricingState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state
        .service
        .delete_option(parse_id(&id, "shipping option")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
