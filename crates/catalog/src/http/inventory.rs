//! Inventory routes (admin).

use axum::{
    Json,
    extract::{Path, State},
};
use platform::{Problem, auth::AdminUser, http::extract::ValidJson};

use super::{
    CatalogState,
    dto::{AdjustmentIn, InventoryOut},
};
use crate::error::Result;

/// Stock levels of a SKU.
#[utoipa::path(get, path = "/api/v1/inventory/{sku}", tag = "catalog", security(("bearer" = [])),
    params(("sku" = String, Path)), responses((status = 403, body = Problem, description = "not an admin"), (status = 200, body = InventoryOut), (status = 404, body = Problem)))]
pub(super) async fn get(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(sku): Path<String>,
) -> Result<Json<InventoryOut>> {
    let (levels, ledger) = state.service.levels(&sku).await?;
    Ok(Json(InventoryOut::new(&sku, levels, ledger)))
}

/// Adjust on-hand stock; recorded in the ledger with who and why.
#[utoipa::path(post, path = "/api/v1/inventory/{sku}/adjustments", tag = "catalog", security(("bearer" = [])),
    params(("sku" = String, Path)), request_body = AdjustmentIn,
    responses((status = 403, body = Problem, description = "not an admin"), (status = 200, body = InventoryOut), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "available stock would go negative"),
              (status = 422, body = Problem)))]
pub(super) async fn adjust(
    State(state): State<CatalogState>,
    AdminUser(admin): AdminUser,
    Path(sku): Path<String>,
    ValidJson(body): ValidJson<AdjustmentIn>,
) -> Result<Json<InventoryOut>> {
    state
        .service
        .adjust(&sku, body.delta, &body.reason, &admin.id.to_string())
        .await?;
    let (levels, ledger) = state.service.levels(&sku).await?;
    Ok(Json(InventoryOut::new(&sku, levels, ledger)))
}
