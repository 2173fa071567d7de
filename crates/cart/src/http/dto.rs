//! Request and response bodies of the cart API.

use platform::{money::Money, time::from_millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::service::CartView;

/// `POST /carts`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartIn {
    /// ISO 4217 code; default from configuration.
    #[serde(default)]
    #[schema(schema_with = platform::http::schema::optional_currency)]
    pub currency: Option<String>,
}

/// `POST /carts/{id}/items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemIn {
    /// The variant to buy.
    pub variant_id: Uuid,
    /// Units, 1..=99 (added to an existing line).
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

/// `PATCH /carts/{id}/items/{item_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantityIn {
    /// Units, 1..=99; 0 removes the line.
    #[schema(minimum = 0, maximum = 99)]
    pub quantity: i64,
}

/// `POST /carts/{id}/checkout`: what an order took out of the cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutIn {
    /// The order (each order's units leave the cart once).
    pub order_id: Uuid,
    /// Units per variant.
    #[schema(max_items = 100)]
    pub lines: Vec<CheckoutLineIn>,
}

/// One line of a [`CheckoutIn`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutLineIn {
    /// The variant: one of its product's `variants[].id`.
    pub variant_id: Uuid,
    /// Units, 1..=99.
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

/// A cart line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemOut {
    /// Line id.
    pub id: Uuid,
    /// The variant: one of its product's `variants[].id`.
    pub variant_id: Uuid,
    /// The stock-keeping unit: unique in the catalog, 1 to 64 characters.
    pub sku: String,
    /// The product's name when the line was added.
    pub product_name: String,
    /// The variant's title when the line was added.
    pub variant_title: String,
    /// Units of the variant on this line (1 to 99).
    pub quantity: i64,
    /// Price of one unit, from the catalog.
    pub unit_price: Money,
    /// quantity x unit price.
    pub line_total: Money,
}

/// A promotion applied to a cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedOut {
    /// Its code, or null for an automatic promotion.
    pub code: Option<String>,
    /// The promotion.
    pub promotion_id: Uuid,
    /// What it takes off (0 for free shipping).
    pub discount: Money,
}

/// `POST /carts/{id}/promotions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    /// The code, in any case.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,50}$")]
    pub code: String,
}

/// `GET /carts/{id}/shipping-options`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CountryQuery {
    /// ISO 3166-1 alpha-2 code of the destination (any case); a code
    /// that names no country has no options.
    #[param(pattern = r"^[A-Za-z]{2}$")]
    pub country: String,
}

/// A shipping option priced for a cart (amounts in minor units, as in
/// API.md's Pricing section).
#[derive(Debug, Serialize, ToSchema)]
pub struct CartShippingOption {
    pub id: Uuid,
    pub name: String,
    /// Its price for this cart, minor units (0 once its `free_over` is reached).
    pub price: i64,
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
}

/// `{items}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartShippingOptions {
    pub items: Vec<CartShippingOption>,
}

/// A cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartOut {
    /// Id (for a guest cart, its only key).
    pub id: Uuid,
    /// Owner, or null for a guest cart.
    pub customer_id: Option<Uuid>,
    /// ISO 4217 code of every amount.
    pub currency: String,
    /// Lines, in the order added.
    pub items: Vec<ItemOut>,
    /// Sum of line totals.
    pub subtotal: Money,
    /// The promotions that apply now: automatic ones, then the code's.
    pub promotions: Vec<AppliedOut>,
    /// What they take off.
    pub discount_total: Money,
    /// subtotal - discount_total (shipping and tax come with the address,
    /// when the order is placed).
    pub total: Money,
    /// The code the customer applied, upper-cased, also while it does not
    /// apply (then it is missing from `promotions`, and placing the order
    /// says why).
    pub promotion_code: Option<String>,
    /// Units in the cart.
    pub item_count: i64,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl TryFrom<CartView> for CartOut {
    type Error = anyhow::Error;

    fn try_from(view: CartView) -> anyhow::Result<Self> {
        let currency = view.cart.currency;
        let subtotal =
            platform::money::subtotal(view.items.iter().map(|i| (i.quantity, i.unit_price)))
                .ok_or_else(|| anyhow::anyhow!("cart total overflows"))?;
        let quote = view.quote;
        anyhow::ensure!(
            quote.subtotal == subtotal,
            "pricing's subtotal {} is not the cart's {subtotal}",
            quote.subtotal
        );
        let items = view
            .items
            .into_iter()
            .map(|i| ItemOut {
                id: i.id,
                variant_id: i.variant_id,
                // Within the subtotal, checked above.
                line_total: Money::new(i.unit_price, &currency)
                    .times(i.quantity)
                    .unwrap_or_else(|| Money::new(i64::MAX, &currency)),
                sku: i.sku,
                product_name: i.product_name,
                variant_title: i.variant_title,
                quantity: i.quantity,
                unit_price: Money::new(i.unit_price, &currency),
            })
            .collect::<Vec<_>>();
        Ok(Self {
            id: view.cart.id,
            customer_id: view.cart.customer_id,
            item_count: items.iter().map(|i| i.quantity).sum(),
            items,
            subtotal: Money::new(subtotal, &currency),
            promotions: quote
                .promotions
                .into_iter()
                .map(|p| AppliedOut {
                    code: p.code,
                    promotion_id: p.promotion_id,
                    discount: Money::new(p.discount, &currency),
                })
                .collect(),
            discount_total: Money::new(quote.discount_total, &currency),
            total: Money::new(quote.total, &currency),
            promotion_code: view.cart.promotion_code,
            currency,
            updated_at: from_millis(view.cart.updated_at),
        })
    }
}
