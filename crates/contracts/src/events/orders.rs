//! Events of the orders service. Each carries the order's `number`,
//! customer and email, so a consumer that writes to the customer (the
//! notifications service) needs no call back.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Event;

/// One line of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Variant bought.
    pub variant_id: Uuid,
    /// Its SKU (what stock is kept by).
    pub sku: String,
    /// Units of the variant on this line (1 to 99).
    pub quantity: i64,
    /// Price of one unit in minor units.
    pub unit_price: i64,
    /// Product name at the time of ordering.
    #[serde(default)]
    pub product_name: String,
}

/// Who an order belongs to, repeated in every order event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    /// The order.
    pub order_id: Uuid,
    /// Its human-friendly number.
    #[serde(default)]
    pub number: String,
    /// The customer, or None for a guest order.
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    #[serde(default)]
    pub email: String,
}

/// `order.placed`: stock must be reserved for these lines; the cart they
/// came from is emptied of them; payments learns the amount to take.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    /// The order.
    pub order_id: Uuid,
    /// Its human-friendly number.
    #[serde(default)]
    pub number: String,
    /// The customer, or None for a guest order.
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    pub email: String,
    /// What was ordered, one entry per variant.
    pub lines: Vec<OrderLine>,
    /// Amount to pay, minor units.
    pub total: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The cart the lines came from.
    #[serde(default)]
    pub cart_id: Option<Uuid>,
    /// `test`, `stripe` or `paypal`.
    #[serde(default = "default_provider")]
    pub payment_provider: String,
    /// What the promotions took off.
    #[serde(default)]
    pub discount_total: i64,
    /// What shipping adds.
    #[serde(default)]
    pub shipping_total: i64,
    /// What tax adds.
    #[serde(default)]
    pub tax_total: i64,
    /// The promotions it carries (each is one use of it until the order is
    /// cancelled).
    #[serde(default)]
    pub promotions: Vec<PromotionUse>,
}

/// A promotion an order carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionUse {
    /// Which.
    pub promotion_id: Uuid,
    /// Its code, or None for an automatic promotion.
    pub code: Option<String>,
    /// What it took off, minor units.
    pub discount: i64,
}

fn default_provider() -> String {
    "test".into()
}

impl Event for OrderPlaced {
    const TYPE: &'static str = "order.placed";
}

/// `order.awaiting_payment`: stock is held; the order waits for its money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAwaitingPayment {
    /// The order.
    #[serde(flatten)]
    pub order: OrderRef,
}

impl Event for OrderAwaitingPayment {
    const TYPE: &'static str = "order.awaiting_payment";
}

/// `order.cancelled`: release what is held; refund if it was paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// The order.
    pub order_id: Uuid,
    /// out_of_stock | payment_failed | payment_timeout | customer_request |
    /// admin | promotion_unavailable.
    pub reason: String,
    /// Its human-friendly number.
    #[serde(default)]
    pub number: String,
    /// The customer, or None for a guest order.
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    #[serde(default)]
    pub email: String,
    /// Whether it had been paid (and so is refunded).
    #[serde(default)]
    pub was_paid: bool,
}

impl Event for OrderCancelled {
    const TYPE: &'static str = "order.cancelled";
}

/// `order.paid`: the held units are sold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPaid {
    /// The order.
    pub order_id: Uuid,
    /// The payment that paid it.
    pub payment_id: Uuid,
    /// Its human-friendly number.
    #[serde(default)]
    pub number: String,
    /// The customer, or None for a guest order.
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    #[serde(default)]
    pub email: String,
    /// Amount paid, minor units.
    #[serde(default)]
    pub total: i64,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: String,
}

impl Event for OrderPaid {
    const TYPE: &'static str = "order.paid";
}

/// `order.shipped`: handed to a carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderShipped {
    /// The order.
    #[serde(flatten)]
    pub order: OrderRef,
    /// Carrier name.
    pub carrier: String,
    /// Carrier's tracking number.
    pub tracking_number: String,
}

impl Event for OrderShipped {
    const TYPE: &'static str = "order.shipped";
}

/// `order.delivered`: the customer has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDelivered {
    /// The order.
    #[serde(flatten)]
    pub order: OrderRef,
}

impl Event for OrderDelivered {
    const TYPE: &'static str = "order.delivered";
}
