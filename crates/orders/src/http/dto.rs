//! Request and response bodies of the orders API.

use platform::{address::AddressFields, money::Money, time::from_millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::order::Order;

/// `POST /orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderIn {
    /// The cart to check out (emptied of what is ordered).
    pub cart_id: Uuid,
    /// Required for a guest; a customer's order carries the account's.
    #[serde(default)]
    #[schema(schema_with = platform::http::schema::optional_email)]
    pub email: Option<String>,
    /// Where to ship.
    pub shipping_address: AddressFields,
    /// `test` (built in), `stripe` or `paypal`, as enabled.
    pub payment_provider: String,
    /// An active shipping option serving the address in the cart's
    /// currency; omitted: the cheapest such option.
    #[serde(default)]
    pub shipping_option_id: Option<Uuid>,
}

/// `POST /orders/{id}/cancel`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelIn {
    /// Why, for the history (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// `POST /orders/{id}/ship`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipIn {
    /// Carrier name (1 to 100 characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub carrier: String,
    /// The carrier's tracking number (1 to 100 characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub tracking_number: String,
}

/// `GET /orders` filters (admins only; a customer always sees their own).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// pending | awaiting_payment | paid | shipped | delivered | cancelled.
    #[param(schema_with = status)]
    pub status: Option<String>,
    /// Only this customer's orders.
    #[param(value_type = Option<Uuid>)]
    pub customer_id: Option<String>,
    /// Only orders placed at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_from: Option<String>,
    /// Only orders placed before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_to: Option<String>,
    /// 1..=100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `GET /orders/summary` (admin).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// The window's start (RFC 3339): orders placed since then are counted.
    #[param(value_type = String, format = DateTime)]
    pub from: Option<String>,
    /// An order awaiting its payment longer than this many seconds counts
    /// as stuck (default 1800, the catalog's reservation time).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 604800)]
    pub stuck_after_secs: Option<String>,
}

/// What the admin's overview shows of the orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryOut {
    /// The window's start.
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    /// Orders placed in the window.
    pub placed: i64,
    /// Orders placed in the window whose payment succeeded.
    pub paid: i64,
    /// What those paid orders came to, one sum per currency.
    pub revenue: Vec<Money>,
    /// Orders placed in the window whose payment failed (retried or cancelled).
    pub payments_failed: i64,
    /// All orders by status now (every status listed, zeros included).
    pub by_status: std::collections::BTreeMap<String, i64>,
    /// Orders awaiting their payment longer than `stuck_after_secs`.
    pub stuck_awaiting_payment: i64,
}

/// A line of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemOut {
    /// The variant: one of its product's `variants[].id`.
    pub variant_id: Uuid,
    /// The stock-keeping unit: unique in the catalog, 1 to 64 characters.
    pub sku: String,
    /// Product name when ordered.
    pub product_name: String,
    /// Variant title when ordered.
    pub variant_title: String,
    /// Units of the variant on this line (1 to 99).
    pub quantity: i64,
    /// Price of one unit when ordered.
    pub unit_price: Money,
    /// quantity x unit price.
    pub line_total: Money,
    /// Its share of the discounts.
    pub discount: Money,
    /// Tax on it after its discount.
    pub tax: Money,
}

/// The shipping option an order ships with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingOptionOut {
    /// The option.
    pub id: Uuid,
    /// Its name when ordered.
    pub name: String,
}

/// A promotion an order carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPromotionOut {
    /// Its code, or null for an automatic promotion.
    pub code: Option<String>,
    /// The promotion.
    pub promotion_id: Uuid,
    /// What it took off.
    pub discount: Money,
}

/// Tracking of a shipped order.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingOut {
    /// The carrier that took the parcel, e.g. `DHL`.
    pub carrier: String,
    /// The carrier's number for the parcel.
    pub tracking_number: String,
}

/// One entry of an order's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    /// The status entered.
    pub status: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why.
    pub note: String,
}

/// An order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderOut {
    /// Id (for a guest order, its key).
    pub id: Uuid,
    /// Human-friendly number.
    pub number: String,
    /// Owner, or null for a guest order.
    pub customer_id: Option<Uuid>,
    /// Where mail goes.
    pub email: String,
    /// pending | awaiting_payment | paid | shipped | delivered | cancelled.
    pub status: String,
    /// none | pending | succeeded | failed | refunded.
    pub payment_status: String,
    /// out_of_stock | payment_failed | payment_timeout | customer_request |
    /// admin | promotion_unavailable.
    pub cancel_reason: Option<String>,
    /// Lines as ordered.
    pub items: Vec<OrderItemOut>,
    /// Sum of line totals.
    pub subtotal: Money,
    /// What the promotions took off.
    pub discount_total: Money,
    /// The shipping option's price (0 when free).
    pub shipping_total: Money,
    /// Tax on the goods after discounts, and on shipping where the rate says.
    pub tax_total: Money,
    /// What is charged: subtotal - discount_total + shipping_total + tax_total.
    pub total: Money,
    /// The option it ships with; null when none served the address.
    pub shipping_option: Option<ShippingOptionOut>,
    /// The promotions it was placed with.
    pub promotions: Vec<OrderPromotionOut>,
    /// Where it goes.
    pub shipping_address: AddressFields,
    /// Chosen provider.
    pub payment_provider: String,
    /// The payment, once created.
    pub payment_id: Option<Uuid>,
    /// Set once shipped.
    pub tracking: Option<TrackingOut>,
    /// Every status entered, oldest first.
    pub history: Vec<HistoryOut>,
    /// Placed at.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    /// Newest first.
    pub items: Vec<OrderOut>,
    /// For the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl From<&Order> for OrderOut {
    fn from(o: &Order) -> Self {
        let money = |amount| Money::new(amount, &o.currency);
        let l = &o.lifecycle;
        Self {
            id: o.id,
            number: o.number.clone(),
            customer_id: o.customer_id,
            email: o.email.clone(),
            status: l.status.as_str().into(),
            payment_status: l.payment_status.as_str().into(),
            cancel_reason: l.cancel_reason.map(|r| r.as_str().into()),
            items: o
                .items
                .iter()
                .map(|i| OrderItemOut {
                    variant_id: i.variant_id,
                    sku: i.sku.clone(),
                    product_name: i.product_name.clone(),
                    variant_title: i.variant_title.clone(),
                    quantity: i.quantity,
                    unit_price: money(i.unit_price),
                    // Checked when the order was placed.
                    line_total: money(i.unit_price)
                        .times(i.quantity)
                        .unwrap_or_else(|| money(i64::MAX)),
                    discount: money(i.discount),
                    tax: money(i.tax),
                })
                .collect(),
            subtotal: money(o.subtotal),
            discount_total: money(o.discount_total),
            shipping_total: money(o.shipping_total),
            tax_total: money(o.tax_total),
            total: money(o.total),
            shipping_option: o.shipping_option.as_ref().map(|s| ShippingOptionOut {
                id: s.id,
                name: s.name.clone(),
            }),
            promotions: o
                .promotions
                .iter()
                .map(|p| OrderPromotionOut {
                    code: p.code.clone(),
                    promotion_id: p.promotion_id,
                    discount: money(p.discount),
                })
                .collect(),
            shipping_address: o.shipping_address.clone().into(),
            payment_provider: o.payment_provider.as_str().to_owned(),
            payment_id: l.payment_id,
            tracking: l.tracking.as_ref().map(|t| TrackingOut {
                carrier: t.carrier.clone(),
                tracking_number: t.tracking_number.clone(),
            }),
            history: l
                .history
                .iter()
                .map(|h| HistoryOut {
                    status: h.status.as_str().into(),
                    at: from_millis(h.at),
                    note: h.note.clone(),
                })
                .collect(),
            created_at: from_millis(o.created_at),
            updated_at: from_millis(o.updated_at),
        }
    }
}

fn status() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(
            crate::domain::lifecycle::Status::ALL
                .into_iter()
                .map(crate::domain::lifecycle::Status::as_str),
        ))
        .build()
}
