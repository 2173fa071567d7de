//! Stock levels per SKU, adjustments and the ledger.

use axum::{
    extract::{Path, Query},
    http::Method,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{Admin, LOW_STOCK, form_problem, problem_status};
use crate::{
    models::{ApiProblem, FieldProblem, Inventory, Page, Stock},
    pages::{CsrfForm, encode, query},
    views::admin::inventory as view,
};

#[derive(Debug, Default, Deserialize)]
pub struct StockFilters {
    #[serde(default)]
    low: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /admin/inventory`: every SKU, or only the low ones.
pub async fn levels(admin: Admin, Query(f): Query<StockFilters>) -> Response {
    let low = f.low == "1";
    let below = LOW_STOCK.to_string();
    let path = format!(
        "/api/v1/inventory?{}",
        query(&[
            ("below", if low { below.as_str() } else { "" }),
            ("limit", "50"),
            ("cursor", &f.cursor),
        ])
    );
    match admin.api().get::<Page<Stock>>(&admin.caller, &path).await {
        Ok(page) => {
            let next = page.next_cursor.as_deref().map(|c| {
                format!(
                    "/admin/inventory?{}",
                    query(&[("low", if low { "1" } else { "" }), ("cursor", c)])
                )
            });
            view::levels(&admin.chrome("inventory"), &page.items, low, next).into_response()
        }
        Err(e) => admin.failure(&e, "inventory"),
    }
}

/// `GET /admin/inventory/{sku}`: levels, the adjustment form, the ledger.
pub async fn sku(admin: Admin, Path(sku): Path<String>) -> Response {
    match inventory(&admin, &sku).await {
        Ok(inv) => view::sku(
            &admin.chrome("inventory"),
            &inv,
            &AdjustForm::default(),
            None,
        )
        .into_response(),
        Err(e) => admin.failure(&e, "inventory"),
    }
}

async fn inventory(admin: &Admin, sku: &str) -> Result<Inventory, crate::api::ApiError> {
    admin
        .api()
        .get::<Inventory>(&admin.caller, &format!("/api/v1/inventory/{}", encode(sku)))
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct AdjustForm {
    #[serde(default)]
    pub delta: String,
    #[serde(default)]
    pub reason: String,
}

/// `POST /admin/inventory/{sku}/adjustments`.
pub async fn adjust(
    admin: Admin,
    Path(sku): Path<String>,
    CsrfForm(form): CsrfForm<AdjustForm>,
) -> Response {
    let Ok(delta) = form.delta.trim().trim_start_matches('+').parse::<i64>() else {
        let mut problem = ApiProblem::bare(422);
        problem.errors.push(FieldProblem {
            field: "delta".into(),
            message: "Enter a whole number of units: 10 adds, -3 removes.".into(),
        });
        return shown(&admin, &sku, &form, problem).await;
    };
    match admin
        .api()
        .send::<Inventory>(
            &admin.caller,
            Method::POST,
            &format!("/api/v1/inventory/{}/adjustments", encode(&sku)),
            &serde_json::json!({"delta": delta, "reason": form.reason.trim()}),
        )
        .await
    {
        Ok(inv) => {
            admin.flash(
                true,
                format!(
                    "Adjusted {} by {delta:+}: {} on hand, {} available.",
                    inv.sku, inv.on_hand, inv.available
                ),
            );
            Redirect::to(&format!("/admin/inventory/{}", encode(&inv.sku))).into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => shown(&admin, &sku, &form, problem).await,
            Err(e) => admin.failure(&e, "inventory"),
        },
    }
}

/// The SKU's page again, with the API's problem at the form.
async fn shown(admin: &Admin, sku: &str, form: &AdjustForm, problem: ApiProblem) -> Response {
    match inventory(admin, sku).await {
        Ok(inv) => (
            problem_status(&problem),
            view::sku(&admin.chrome("inventory"), &inv, form, Some(&problem)),
        )
            .into_response(),
        Err(e) => admin.failure(&e, "inventory"),
    }
}
