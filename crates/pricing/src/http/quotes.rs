//! `POST /api/v1/quotes`: what cart and orders ask (an addition to
//! API.md, documented in the OpenAPI); it reveals nothing a cart does not.

use axum::{Json, extract::State};
use contracts::clients::pricing::{PriceQuote, QuoteRequest};
use platform::{Problem, http::extract::ValidJson};

use super::{PricingState, dto::QuoteIn};
use crate::error::Result;

/// Price lines: the promotions that apply and, with a country, the shipping options, shipping and tax.
#[utoipa::path(post, path = "/api/v1/quotes", tag = "pricing", request_body = QuoteIn,
    responses((status = 200, body = serde_json::Value, description = "`{lines: [{line_total, discount, tax}], subtotal, discount_total, shipping_total, tax_total, total, promotions, shipping_option, shipping_options}`"),
              (status = 422, body = Problem, description = "invalid, a code that cannot apply (`promotions/<reason>`), or an option that does not serve the destination"),
              (status = 503, body = Problem, description = "the tax provider did not answer")))]
pub(super) async fn quote(
    State(state): State<PricingState>,
    ValidJson(body): ValidJson<QuoteRequest>,
) -> Result<Json<PriceQuote>> {
    Ok(Json(state.service.quote(&body).await?))
}
