//! Inventory routes (admin).

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
    CatalogState,
    dto::{AdjustmentIn, InventoryOut, InventoryQuery, StockOut, StockPage},
};
use crate::error::{CatalogError, Result};

/// Every SKU's levels in SKU order; `below` lists the low ones.
#[utoipa::path(get, path = "/api/v1/inventory", tag = "catalog", security(("bearer" = [])), params(InventoryQuery),
    responses((status = 403, body = Problem, description = "not an admin"), (status = 200, body = StockPage),
              (status = 401, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn list(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    ValidQuery(query): ValidQuery<InventoryQuery>,
) -> Result<Json<StockPage>> {
    let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let below = query
        .below
        .as_deref()
        .map(|raw| {
            raw.parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| CatalogError::field("below", "must be a whole number, 1 or more"))
        })
        .transpose()?;
    let page = state.service.stock_list(below, &page).await?;
    let items = page
        .items
        .into_iter()
        .map(|s| {
            Ok(StockOut {
                product_id: uuid::Uuid::parse_str(&s.product_id).map_err(|e| {
                    CatalogError::Unexpected(anyhow::Error::new(e).context("a stored product id"))
                })?,
                available: crate::domain::stock::available(s.levels.on_hand, s.levels.reserved),
                sku: s.sku,
                product_name: s.product_name,
                variant_title: s.variant_title,
                on_hand: s.levels.on_hand,
                reserved: s.levels.reserved,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Json(StockPage {
        items,
        next_cursor: page.next_cursor,
    }))
}

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
