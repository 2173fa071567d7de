//! What cart and orders ask pricing: the totals of a cart, with the
//! promotions that apply, the shipping options of a destination and its
//! tax. The request and answer are the wire shapes of `POST /api/v1/quotes`.

mod http;
pub use http::HttpPricing;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ClientError;

/// A line to price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    /// Units (1 to 99).
    pub quantity: i64,
    /// Price of one unit, minor units.
    pub unit_price: i64,
}

/// What is priced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// ISO 4217 code of every line.
    pub currency: String,
    /// The lines, in cart order.
    pub lines: Vec<QuoteLine>,
    /// The code the customer applied, if any (any case).
    #[serde(default)]
    pub code: Option<String>,
    /// Whose limits count: the customer's id, or `email:<address>` for a
    /// guest whose address is known.
    #[serde(default)]
    pub customer_key: Option<String>,
    /// Destination country (ISO 3166-1 alpha-2); without it nothing is
    /// added for shipping or tax.
    #[serde(default)]
    pub country: Option<String>,
    /// Destination region, as addresses write it.
    #[serde(default)]
    pub region: Option<String>,
    /// The chosen option; None takes the cheapest serving the destination.
    #[serde(default)]
    pub shipping_option_id: Option<Uuid>,
}

/// A priced line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePrice {
    /// `unit_price` x `quantity`.
    pub line_total: i64,
    /// Its share of the discounts.
    pub discount: i64,
    /// Tax on it after its discount.
    pub tax: i64,
}

/// A promotion that applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPromotion {
    /// Which.
    pub promotion_id: Uuid,
    /// Its code, or None for an automatic promotion.
    pub code: Option<String>,
    /// What it took off, minor units (0 for free shipping).
    pub discount: i64,
    /// At most this many placed, uncancelled orders carry it.
    pub usage_limit: Option<i64>,
    /// At most this many for one customer.
    pub usage_limit_per_customer: Option<i64>,
}

/// A shipping option, priced for the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionPrice {
    /// The option.
    pub id: Uuid,
    /// Shown at checkout.
    pub name: String,
    /// Its price for this cart (0 once `free_over` is reached).
    pub price: i64,
    /// Delivery estimate, days.
    pub min_days: Option<i64>,
    /// Delivery estimate, days.
    pub max_days: Option<i64>,
}

/// The option shipping is priced with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingChoice {
    /// The option.
    pub id: Uuid,
    /// Its name.
    pub name: String,
}

/// A priced cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceQuote {
    /// The lines, in request order.
    pub lines: Vec<LinePrice>,
    /// Sum of line totals.
    pub subtotal: i64,
    /// What the promotions took off.
    pub discount_total: i64,
    /// What shipping adds.
    pub shipping_total: i64,
    /// What tax adds.
    pub tax_total: i64,
    /// subtotal - discount_total + shipping_total + tax_total.
    pub total: i64,
    /// Automatic promotions first, then the code's.
    pub promotions: Vec<AppliedPromotion>,
    /// The option shipping is priced with, if one serves the destination.
    pub shipping_option: Option<ShippingChoice>,
    /// Every option serving the destination, cheapest first (empty
    /// without a country).
    pub shipping_options: Vec<OptionPrice>,
}

/// Why pricing would not price a cart: the customer's to mend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refused {
    /// The code does not apply: `reason` is the problem type's slug after
    /// `promotions/` (`unknown`, `expired`, `used-up`, ...).
    Code {
        /// The code, upper-cased.
        code: String,
        /// Why.
        reason: String,
        /// What the customer reads.
        message: String,
    },
    /// The chosen shipping option does not serve the destination.
    ShippingOption,
}

/// Whose per-customer promotion limits an order counts against: the
/// customer's id, or `email:<address>` for a guest. Orders' ledger and
/// pricing's mirror key the same uses by it.
pub fn customer_key(customer_id: Option<Uuid>, email: &str) -> String {
    customer_id.map_or_else(
        || format!("email:{}", email.to_lowercase()),
        |c| c.to_string(),
    )
}

/// The 422 for a code that cannot apply, as every service answers it: the
/// type names the reason (`promotions/expired`, ...), `errors` the `code`
/// field, `promotion_code` the code; `error_code` is the answering
/// service's own (`PRC-0004`, `CRT-0006`, `ORD-0005`).
pub fn refusal_problem(
    error_code: &str,
    code: &str,
    reason: &str,
    message: &str,
) -> platform::Problem {
    let mut problem = platform::Problem::new(
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        &format!("promotions/{reason}"),
        error_code,
        "The code cannot be applied",
    )
    .detail(format!("{code} {message}."))
    .with("promotion_code", code);
    problem.errors = vec![platform::FieldError::new("code", message)];
    problem
}

/// Prices carts.
pub trait PricingClient: Send + Sync + 'static {
    /// The quote, or why the customer must change the cart first.
    fn quote<'a>(
        &'a self,
        request: &'a QuoteRequest,
    ) -> BoxFuture<'a, Result<Result<PriceQuote, Refused>, ClientError>>;
}
