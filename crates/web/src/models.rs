//! The API's resources as the storefront reads them (API.md). Fields the
//! pages do not show are left out; fields added later by the API (pricing)
//! default, so an older or newer API still renders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{amount, currency}`, amount in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Money {
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
}

/// A cursor page.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    /// This page.
    pub items: Vec<T>,
    /// The next page's cursor.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A catalog category.
#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    /// Id.
    pub id: String,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Parent category id.
    #[serde(default)]
    pub parent_id: Option<String>,
}

/// A product with its variants.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    /// Id.
    pub id: String,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Text.
    #[serde(default)]
    pub description: String,
    /// Image URLs, the first is the main one.
    #[serde(default)]
    pub images: Vec<String>,
    /// Free-form facts (material, brand).
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Its categories.
    #[serde(default)]
    pub category_ids: Vec<String>,
    /// Sellable variants.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// draft, published or archived (the admin's lists show it).
    #[serde(default)]
    pub status: String,
}

impl Product {
    /// The lowest variant price.
    pub fn from_price(&self) -> Option<&Money> {
        self.variants
            .iter()
            .map(|v| &v.price)
            .min_by_key(|m| m.amount)
    }

    /// True when some variants cost more than others.
    pub fn has_price_range(&self) -> bool {
        let mut prices = self.variants.iter().map(|v| v.price.amount);
        let first = prices.next();
        prices.any(|p| Some(p) != first)
    }

    /// Units available over all variants.
    pub fn available(&self) -> i64 {
        self.variants.iter().map(|v| v.available.max(0)).sum()
    }
}

/// A variant.
#[derive(Debug, Clone, Deserialize)]
pub struct Variant {
    /// Id (what a cart line names).
    pub id: String,
    /// Stock keeping unit.
    pub sku: String,
    /// e.g. "M" or "Navy".
    pub title: String,
    /// Option name to value.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Unit price.
    pub price: Money,
    /// Units that can be bought now.
    #[serde(default)]
    pub available: i64,
}

/// A cart.
#[derive(Debug, Clone, Deserialize)]
pub struct Cart {
    /// Id (a guest cart's only key).
    pub id: String,
    /// Owner; none for a guest cart.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// Lines.
    #[serde(default)]
    pub items: Vec<CartItem>,
    /// Sum of lines.
    pub subtotal: Money,
    /// Discounts (pricing).
    #[serde(default)]
    pub discount_total: Option<Money>,
    /// Applied promotions (pricing).
    #[serde(default)]
    pub promotions: Vec<AppliedPromotion>,
    /// What is due before shipping and tax.
    pub total: Money,
    /// The code the customer applied (also while it does not apply).
    #[serde(default)]
    pub promotion_code: Option<String>,
    /// Units.
    #[serde(default)]
    pub item_count: i64,
}

/// A shipping option priced for a cart (minor units of the cart's currency).
#[derive(Debug, Clone, Deserialize)]
pub struct ShippingChoice {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Minor units.
    pub price: i64,
    /// Delivery estimate, days.
    #[serde(default)]
    pub min_days: Option<i64>,
    /// Delivery estimate, days.
    #[serde(default)]
    pub max_days: Option<i64>,
}

/// A cart line.
#[derive(Debug, Clone, Deserialize)]
pub struct CartItem {
    /// Line id.
    pub id: String,
    /// The variant.
    pub variant_id: String,
    /// Its SKU.
    pub sku: String,
    /// Product name at pricing time.
    pub product_name: String,
    /// Variant title.
    #[serde(default)]
    pub variant_title: String,
    /// Units.
    pub quantity: i64,
    /// Price of one.
    pub unit_price: Money,
    /// Price of all.
    pub line_total: Money,
}

/// A promotion on a cart or order.
#[derive(Debug, Clone, Deserialize)]
pub struct AppliedPromotion {
    /// The code, none for an automatic promotion.
    #[serde(default)]
    pub code: Option<String>,
    /// Its discount.
    pub discount: Money,
}

/// A postal address (API.md common rules); `id` only in the address book.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Address {
    /// Address book id.
    #[serde(default, skip_serializing)]
    pub id: Option<String>,
    /// Recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// An order.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    /// Id.
    pub id: String,
    /// Human number.
    pub number: String,
    /// Receipt address.
    #[serde(default)]
    pub email: String,
    /// The customer's account; none for a guest.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// pending, awaiting_payment, paid, shipped, delivered, cancelled.
    pub status: String,
    /// none, pending, succeeded, failed, refunded.
    #[serde(default)]
    pub payment_status: String,
    /// Why it was cancelled.
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// Lines.
    #[serde(default)]
    pub items: Vec<OrderItem>,
    /// Sum of lines.
    pub subtotal: Money,
    /// Discounts.
    #[serde(default)]
    pub discount_total: Option<Money>,
    /// Shipping.
    #[serde(default)]
    pub shipping_total: Option<Money>,
    /// Tax.
    #[serde(default)]
    pub tax_total: Option<Money>,
    /// Due.
    pub total: Money,
    /// The chosen shipping option.
    #[serde(default)]
    pub shipping_option: Option<NamedRef>,
    /// Where it goes.
    pub shipping_address: Address,
    /// Carrier and number once shipped.
    #[serde(default)]
    pub tracking: Option<Tracking>,
    /// The payment, once opened.
    #[serde(default)]
    pub payment_id: Option<String>,
    /// Status changes, oldest first.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Placed at (RFC 3339).
    pub created_at: String,
}

impl Order {
    /// True while the order may still change without anybody acting on it
    /// (the saga is deciding stock and opening the payment).
    pub fn is_settling(&self) -> bool {
        matches!(self.status.as_str(), "pending")
            || (self.status == "awaiting_payment" && self.payment_status != "failed")
    }
}

/// `{id, name}`.
#[derive(Debug, Clone, Deserialize)]
pub struct NamedRef {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// An order line.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderItem {
    /// Product name.
    pub product_name: String,
    /// SKU.
    pub sku: String,
    /// The variant.
    #[serde(default)]
    pub variant_id: String,
    /// Units.
    pub quantity: i64,
    /// Price of one.
    pub unit_price: Money,
    /// Price of all.
    pub line_total: Money,
}

/// Shipment tracking.
#[derive(Debug, Clone, Deserialize)]
pub struct Tracking {
    /// Carrier.
    pub carrier: String,
    /// Number.
    pub tracking_number: String,
}

/// A status change.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryEntry {
    /// The new status.
    pub status: String,
    /// When (RFC 3339).
    pub at: String,
    /// Why.
    #[serde(default)]
    pub note: Option<String>,
}

/// A payment.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    /// Id.
    pub id: String,
    /// test, stripe, paypal.
    pub provider: String,
    /// pending, succeeded, failed, refunded, partially_refunded.
    pub status: String,
    /// Amount.
    pub amount: Money,
    /// Refunded so far.
    #[serde(default)]
    pub refunded_amount: Option<Money>,
    /// Why it failed.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Stripe: what Stripe.js confirms with.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// PayPal: where the buyer approves.
    #[serde(default)]
    pub approval_url: Option<String>,
}

/// `{items}` without pagination.
#[derive(Debug, Clone, Deserialize)]
pub struct Items<T> {
    /// All of them.
    pub items: Vec<T>,
}

/// The logged-in account.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// Login.
    pub email: String,
    /// Name.
    pub name: String,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// customer or admin.
    #[serde(default)]
    pub role: String,
    /// Verified by the mailed link.
    #[serde(default)]
    pub email_verified: bool,
    /// Cannot log in.
    #[serde(default)]
    pub disabled: bool,
    /// Registered at (RFC 3339).
    #[serde(default)]
    pub created_at: String,
}

/// What register, login and refresh answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// Bearer token.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// The account (register only).
    #[serde(default)]
    pub user: Option<User>,
}

/// Notification preferences.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct Preferences {
    /// Email on.
    pub email: bool,
    /// SMS on.
    pub sms: bool,
}

/// A SKU's levels in the inventory list.
#[derive(Debug, Clone, Deserialize)]
pub struct Stock {
    /// SKU.
    pub sku: String,
    /// Its product.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The variant's title.
    pub variant_title: String,
    /// In the warehouse.
    pub on_hand: i64,
    /// Held for unpaid orders.
    pub reserved: i64,
    /// Sellable now.
    pub available: i64,
}

/// A SKU's levels and latest ledger entries.
#[derive(Debug, Clone, Deserialize)]
pub struct Inventory {
    /// SKU.
    pub sku: String,
    /// In the warehouse.
    pub on_hand: i64,
    /// Held for unpaid orders.
    pub reserved: i64,
    /// Sellable now.
    pub available: i64,
    /// Newest first.
    #[serde(default)]
    pub recent_adjustments: Vec<Adjustment>,
}

/// A ledger entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Adjustment {
    /// Change to on hand.
    pub delta: i64,
    /// Why.
    pub reason: String,
    /// A user id, or `order:<id>`.
    pub actor: String,
    /// When (RFC 3339).
    pub at: String,
}

/// `GET /orders/summary`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderSummary {
    /// Orders placed in the window.
    pub placed: i64,
    /// Of which paid.
    pub paid: i64,
    /// Their totals per currency.
    #[serde(default)]
    pub revenue: Vec<Money>,
    /// Payments that failed in the window.
    pub payments_failed: i64,
    /// Every status's count now.
    #[serde(default)]
    pub by_status: BTreeMap<String, i64>,
    /// Awaiting payment past the reservation time.
    pub stuck_awaiting_payment: i64,
}

/// A message sent or being sent.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    /// Id.
    pub id: String,
    /// email or sms.
    pub channel: String,
    /// Its template.
    pub template: String,
    /// Address or number.
    pub to: String,
    /// queued, sent, failed.
    pub status: String,
    /// Tries so far.
    pub attempts: i64,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// Queued at (RFC 3339).
    pub created_at: String,
    /// Sent at.
    #[serde(default)]
    pub sent_at: Option<String>,
}

/// One invalid field.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldProblem {
    /// Dotted path.
    pub field: String,
    /// For a person.
    pub message: String,
}

/// A problem+json body.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiProblem {
    /// Type URI.
    #[serde(rename = "type", default)]
    pub type_uri: String,
    /// Summary.
    #[serde(default)]
    pub title: String,
    /// Status.
    pub status: u16,
    /// This time.
    #[serde(default)]
    pub detail: Option<String>,
    /// Invalid fields.
    #[serde(default)]
    pub errors: Vec<FieldProblem>,
    /// Links the problem to the logs.
    #[serde(default)]
    pub request_id: Option<String>,
}

impl ApiProblem {
    /// A problem without a body (an edge's bare status).
    pub fn bare(status: u16) -> Self {
        Self {
            type_uri: String::new(),
            title: String::new(),
            status,
            detail: None,
            errors: Vec::new(),
            request_id: None,
        }
    }

    /// One sentence for the top of a form.
    pub fn message(&self) -> String {
        if let Some(detail) = self.detail.as_deref().filter(|d| !d.is_empty()) {
            return detail.to_owned();
        }
        if !self.title.is_empty() {
            return format!("{}.", self.title.trim_end_matches('.'));
        }
        match self.status {
            429 => "Too many attempts. Please wait a moment and try again.".to_owned(),
            500..=599 => "Something went wrong on our side. Please try again.".to_owned(),
            _ => "That did not work. Please check and try again.".to_owned(),
        }
    }

    /// The message for `field`, or for a field of that last name in a
    /// nested body (`shipping_address.city` for `city`).
    pub fn field(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field || e.field.rsplit('.').next() == Some(field))
            .map(|e| e.message.as_str())
    }
}
