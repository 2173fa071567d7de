//! Events of the orders service (the ones other services consume).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Event;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Variant bought.
    pub variant_id: Uuid,
    /// Its SKU (what stock is kept by).
    pub sku: String,
    /// Units.
    pub quantity: i64,
    /// Price of one unit in minor units.
    pub unit_price: i64,
}

/// `order.placed`: stock must be reserved for these lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    /// The order.
    pub order_id: Uuid,
    /// The customer, or None for a guest order.
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    pub email: String,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Amount to pay, minor units.
    pub total: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl Event for OrderPlaced {
    const TYPE: &'static str = "order.placed";
}

/// `order.cancelled`: release what is held; refund if it was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// The order.
    pub order_id: Uuid,
    /// out_of_stock | payment_failed | payment_timeout | customer_request | admin.
    pub reason: String,
}

impl Event for OrderCancelled {
    const TYPE: &'static str = "order.cancelled";
}

/// `order.paid`: the held units are sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPaid {
    /// The order.
    pub order_id: Uuid,
    /// The payment that paid it.
    pub payment_id: Uuid,
}

impl Event for OrderPaid {
    const TYPE: &'static str = "order.paid";
}
