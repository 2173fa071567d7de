//! Request and response bodies of the pricing API. Amounts are integers of
//! minor units and rates basis points, as API.md's Pricing section writes
//! them.

use platform::{FieldError, time::from_millis};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::{
    promotion::{Kind, Promotion, normalize_code},
    rules::{ShippingOption, TaxRate},
};

use platform::http::extract::present;

/// An RFC 3339 time as Unix ms, or the field's error.
fn parse_time(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    match OffsetDateTime::parse(raw, &Rfc3339) {
        Ok(at) => Some(platform::time::to_millis(at)),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "must be an RFC 3339 time such as 2026-12-24T00:00:00Z",
            ));
            None
        }
    }
}

fn upper(list: Vec<String>) -> Vec<String> {
    list.into_iter()
        .map(|c| c.trim().to_ascii_uppercase())
        .collect()
}

// ---- shipping options ----

/// `POST /shipping-options`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingOptionIn {
    /// Shown at checkout, e.g. "Standard".
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: String,
    /// ISO 3166-1 alpha-2 codes, or `["*"]` for everywhere.
    #[schema(schema_with = platform::http::schema::countries)]
    pub countries: Vec<String>,
    /// ISO 4217 code of its price.
    #[schema(schema_with = platform::http::schema::currency)]
    pub currency: String,
    /// Minor units, at least 0.
    #[schema(minimum = 0)]
    pub price: i64,
    /// Free when the discounted subtotal reaches this.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub free_over: Option<i64>,
    /// Delivery estimate, days (at most `max_days`).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 365)]
    pub min_days: Option<i64>,
    /// Delivery estimate, days.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 365)]
    pub max_days: Option<i64>,
    /// Offered; default true.
    #[serde(default)]
    pub active: Option<bool>,
}

impl From<ShippingOptionIn> for ShippingOption {
    fn from(o: ShippingOptionIn) -> Self {
        Self {
            id: Uuid::nil(),
            name: o.name.trim().to_owned(),
            countries: upper(o.countries),
            currency: o.currency.to_ascii_uppercase(),
            price: o.price,
            free_over: o.free_over,
            min_days: o.min_days,
            max_days: o.max_days,
            active: o.active.unwrap_or(true),
            created_at: 0,
        }
    }
}

/// `PATCH /shipping-options/{id}`: the fields to change; `null` clears an
/// optional one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingOptionPatch {
    /// New name.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: Option<String>,
    /// New countries.
    #[serde(default)]
    #[schema(schema_with = platform::http::schema::countries)]
    pub countries: Option<Vec<String>>,
    /// New currency.
    #[serde(default)]
    #[schema(schema_with = platform::http::schema::currency)]
    pub currency: Option<String>,
    /// New price.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub price: Option<i64>,
    /// New threshold, or null for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub free_over: Option<Option<i64>>,
    /// New estimate.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 365)]
    pub min_days: Option<Option<i64>>,
    /// New estimate.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 365)]
    pub max_days: Option<Option<i64>>,
    /// Offered or not.
    #[serde(default)]
    pub active: Option<bool>,
}

impl ShippingOptionPatch {
    /// `current` with the change.
    pub fn apply(self, current: ShippingOption) -> ShippingOption {
        ShippingOption {
            name: self.name.map_or(current.name, |n| n.trim().to_owned()),
            countries: self.countries.map_or(current.countries, upper),
            currency: self
                .currency
                .map_or(current.currency, |c| c.to_ascii_uppercase()),
            price: self.price.unwrap_or(current.price),
            free_over: self.free_over.unwrap_or(current.free_over),
            min_days: self.min_days.unwrap_or(current.min_days),
            max_days: self.max_days.unwrap_or(current.max_days),
            active: self.active.unwrap_or(current.active),
            ..current
        }
    }
}

/// A shipping option.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingOptionOut {
    pub id: Uuid,
    pub name: String,
    pub countries: Vec<String>,
    pub currency: String,
    /// Minor units.
    pub price: i64,
    pub free_over: Option<i64>,
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<ShippingOption> for ShippingOptionOut {
    fn from(o: ShippingOption) -> Self {
        Self {
            id: o.id,
            name: o.name,
            countries: o.countries,
            currency: o.currency,
            price: o.price,
            free_over: o.free_over,
            min_days: o.min_days,
            max_days: o.max_days,
            active: o.active,
            created_at: from_millis(o.created_at),
        }
    }
}

/// `GET /shipping-options`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OptionsQuery {
    /// Only options serving this country (ISO 3166-1 alpha-2, any case; a
    /// code that names no country has none).
    #[param(pattern = r"^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// Only options in this currency (ISO 4217, any case).
    #[param(pattern = r"^[A-Za-z]{3}$")]
    pub currency: Option<String>,
}

/// `{items}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingOptionList {
    pub items: Vec<ShippingOptionOut>,
}

// ---- tax rates ----

/// `POST /tax-rates`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateIn {
    /// ISO 3166-1 alpha-2.
    #[schema(schema_with = platform::http::schema::country)]
    pub country: String,
    /// A region of it, as addresses write it; none for the whole country.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]")]
    pub region: Option<String>,
    /// Shown on receipts, e.g. "VAT".
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: String,
    /// Basis points, 0..=10000 (2000 is 20 %).
    #[schema(minimum = 0, maximum = 10000)]
    pub rate: i64,
    /// Tax shipping too; default false.
    #[serde(default)]
    pub applies_to_shipping: Option<bool>,
}

fn region(raw: Option<String>) -> Option<String> {
    raw.map(|r| r.trim().to_owned())
}

impl From<TaxRateIn> for TaxRate {
    fn from(r: TaxRateIn) -> Self {
        Self {
            id: Uuid::nil(),
            country: r.country.trim().to_ascii_uppercase(),
            region: region(r.region),
            name: r.name.trim().to_owned(),
            rate: r.rate,
            applies_to_shipping: r.applies_to_shipping.unwrap_or(false),
        }
    }
}

/// `PATCH /tax-rates/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRatePatch {
    #[serde(default)]
    #[schema(schema_with = platform::http::schema::country)]
    pub country: Option<String>,
    /// `null` makes it the country's rate.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]")]
    pub region: Option<Option<String>>,
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10000)]
    pub rate: Option<i64>,
    #[serde(default)]
    pub applies_to_shipping: Option<bool>,
}

impl TaxRatePatch {
    /// `current` with the change.
    pub fn apply(self, current: TaxRate) -> TaxRate {
        TaxRate {
            country: self
                .country
                .map_or(current.country, |c| c.trim().to_ascii_uppercase()),
            region: self.region.map_or(current.region, region),
            name: self.name.map_or(current.name, |n| n.trim().to_owned()),
            rate: self.rate.unwrap_or(current.rate),
            applies_to_shipping: self
                .applies_to_shipping
                .unwrap_or(current.applies_to_shipping),
            ..current
        }
    }
}

/// A tax rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxRateOut {
    pub id: Uuid,
    pub country: String,
    pub region: Option<String>,
    pub name: String,
    /// Basis points.
    pub rate: i64,
    pub applies_to_shipping: bool,
}

impl From<TaxRate> for TaxRateOut {
    fn from(r: TaxRate) -> Self {
        Self {
            id: r.id,
            country: r.country,
            region: r.region,
            name: r.name,
            rate: r.rate,
            applies_to_shipping: r.applies_to_shipping,
        }
    }
}

/// `{items}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxRateList {
    pub items: Vec<TaxRateOut>,
}

// ---- promotions ----

/// `POST /promotions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionIn {
    /// 1..=50 of `A-Z0-9-_`, any case (stored upper-cased); none: automatic.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,50}$")]
    pub code: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: String,
    /// `percentage` | `fixed` | `free_shipping`.
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    /// Basis points 1..=10000 (percentage), minor units > 0 (fixed) or 0
    /// (free shipping).
    #[schema(minimum = 0)]
    pub value: i64,
    /// Required for `fixed`; limits the others to one currency.
    #[serde(default)]
    #[schema(schema_with = platform::http::schema::optional_currency)]
    pub currency: Option<String>,
    /// The subtotal it needs, minor units.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub min_subtotal: Option<i64>,
    /// RFC 3339.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339, after `starts_at`; it no longer applies from then.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// At most this many placed, uncancelled orders.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub usage_limit: Option<i64>,
    /// At most this many for one customer (guests by email).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub usage_limit_per_customer: Option<i64>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

fn kind_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["percentage", "fixed", "free_shipping"]))
        .build()
}

fn code(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let raw = raw?;
    // Exactly as the schema says: no spaces around it.
    let code = normalize_code(&raw).filter(|_| raw.trim() == raw);
    if code.is_none() {
        errors.push(FieldError::new(
            "code",
            "must be 1 to 50 of A-Z, 0-9, - and _",
        ));
    }
    code
}

fn kind(raw: &str, errors: &mut Vec<FieldError>) -> Kind {
    Kind::parse(raw).unwrap_or_else(|| {
        errors.push(FieldError::new(
            "kind",
            "must be percentage, fixed or free_shipping",
        ));
        Kind::Percentage
    })
}

impl PromotionIn {
    /// The promotion it describes, or the fields that cannot be read.
    pub fn into_promotion(self) -> Result<Promotion, Vec<FieldError>> {
        let mut errors = Vec::new();
        let promotion = Promotion {
            id: Uuid::nil(),
            code: code(self.code, &mut errors),
            name: self.name.trim().to_owned(),
            kind: kind(&self.kind, &mut errors),
            value: self.value,
            currency: self.currency.map(|c| c.to_ascii_uppercase()),
            min_subtotal: self.min_subtotal,
            starts_at: self
                .starts_at
                .and_then(|t| parse_time("starts_at", &t, &mut errors)),
            ends_at: self
                .ends_at
                .and_then(|t| parse_time("ends_at", &t, &mut errors)),
            usage_limit: self.usage_limit,
            usage_limit_per_customer: self.usage_limit_per_customer,
            active: self.active.unwrap_or(true),
            created_at: 0,
        };
        if errors.is_empty() {
            Ok(promotion)
        } else {
            Err(errors)
        }
    }
}

/// `PATCH /promotions/{id}`: the fields to change; `null` clears an
/// optional one (a null `code` makes it automatic).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^[A-Za-z0-9_-]{1,50}$")]
    pub code: Option<Option<String>>,
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = kind_schema)]
    pub kind: Option<String>,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub value: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = platform::http::schema::optional_currency)]
    pub currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub min_subtotal: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub usage_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub usage_limit_per_customer: Option<Option<i64>>,
    #[serde(default)]
    pub active: Option<bool>,
}

impl PromotionPatch {
    /// `current` with the change, or the fields that cannot be read.
    pub fn apply(self, current: Promotion) -> Result<Promotion, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut time = |field, change: Option<Option<String>>, current| match change {
            None => current,
            Some(raw) => raw.and_then(|t: String| parse_time(field, &t, &mut errors)),
        };
        let starts_at = time("starts_at", self.starts_at, current.starts_at);
        let ends_at = time("ends_at", self.ends_at, current.ends_at);
        let promotion = Promotion {
            code: match self.code {
                None => current.code,
                Some(raw) => code(raw, &mut errors),
            },
            name: self.name.map_or(current.name, |n| n.trim().to_owned()),
            kind: self.kind.map_or(current.kind, |k| kind(&k, &mut errors)),
            value: self.value.unwrap_or(current.value),
            currency: self
                .currency
                .map_or(current.currency, |c| c.map(|c| c.to_ascii_uppercase())),
            min_subtotal: self.min_subtotal.unwrap_or(current.min_subtotal),
            starts_at,
            ends_at,
            usage_limit: self.usage_limit.unwrap_or(current.usage_limit),
            usage_limit_per_customer: self
                .usage_limit_per_customer
                .unwrap_or(current.usage_limit_per_customer),
            active: self.active.unwrap_or(current.active),
            ..current
        };
        if errors.is_empty() {
            Ok(promotion)
        } else {
            Err(errors)
        }
    }
}

/// A promotion.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionOut {
    pub id: Uuid,
    /// None: automatic.
    pub code: Option<String>,
    pub name: String,
    pub kind: String,
    pub value: i64,
    pub currency: Option<String>,
    pub min_subtotal: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    pub usage_limit: Option<i64>,
    pub usage_limit_per_customer: Option<i64>,
    pub active: bool,
    /// Placed, uncancelled orders carrying it.
    pub times_used: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<(Promotion, i64)> for PromotionOut {
    fn from((p, times_used): (Promotion, i64)) -> Self {
        Self {
            id: p.id,
            code: p.code,
            name: p.name,
            kind: p.kind.as_str().to_owned(),
            value: p.value,
            currency: p.currency,
            min_subtotal: p.min_subtotal,
            starts_at: p.starts_at.map(from_millis),
            ends_at: p.ends_at.map(from_millis),
            usage_limit: p.usage_limit,
            usage_limit_per_customer: p.usage_limit_per_customer,
            active: p.active,
            times_used,
            created_at: from_millis(p.created_at),
        }
    }
}

/// A page of promotions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionPage {
    pub items: Vec<PromotionOut>,
    pub next_cursor: Option<String>,
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1..=100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

// ---- quotes ----

/// `POST /quotes` (the shape of `contracts::clients::pricing::QuoteRequest`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "documents the body; it is read as a QuoteRequest")]
pub struct QuoteIn {
    /// ISO 4217 code of every line.
    #[schema(schema_with = platform::http::schema::currency)]
    pub currency: String,
    /// The lines, in cart order.
    #[schema(max_items = 1000)]
    pub lines: Vec<QuoteLineIn>,
    /// A promotion code of the shop, in any case.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,50}$")]
    pub code: Option<String>,
    /// Whose limits count: a customer id, or `email:<address>`.
    #[serde(default)]
    #[schema(max_length = 300)]
    pub customer_key: Option<String>,
    /// Destination country; without it nothing is added for shipping or tax.
    #[serde(default)]
    #[schema(schema_with = platform::http::schema::optional_country)]
    pub country: Option<String>,
    /// Destination region.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub region: Option<String>,
    /// An option serving the destination; none: the cheapest.
    #[serde(default)]
    pub shipping_option_id: Option<Uuid>,
}

/// A line of a [`QuoteIn`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "documents the body")]
pub struct QuoteLineIn {
    /// Units.
    #[schema(minimum = 1, maximum = 9999)]
    pub quantity: i64,
    /// Price of one unit, minor units.
    #[schema(minimum = 0)]
    pub unit_price: i64,
}
