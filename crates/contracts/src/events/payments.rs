//! Events of the payments service.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Event;

/// `payment.created`: the order has a payment waiting to be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCreated {
    /// The payment.
    pub payment_id: Uuid,
    /// The order it pays.
    pub order_id: Uuid,
    /// `test`, `stripe` or `paypal`.
    pub provider: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl Event for PaymentCreated {
    const TYPE: &'static str = "payment.created";
}

/// `payment.succeeded`: the money is taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSucceeded {
    /// The payment.
    pub payment_id: Uuid,
    /// The order it pays.
    pub order_id: Uuid,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl Event for PaymentSucceeded {
    const TYPE: &'static str = "payment.succeeded";
}

/// `payment.failed`: the money could not be taken; the order cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFailed {
    /// The payment.
    pub payment_id: Uuid,
    /// The order it was for.
    pub order_id: Uuid,
    /// Why, e.g. `card_declined`, `insufficient_funds`, `order_cancelled`.
    pub failure_code: String,
    /// The customer, when known (for mailing).
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    #[serde(default)]
    pub email: String,
}

impl Event for PaymentFailed {
    const TYPE: &'static str = "payment.failed";
}

/// `payment.refunded`: money went back, all of it or part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRefunded {
    /// The payment.
    pub payment_id: Uuid,
    /// The order it paid.
    pub order_id: Uuid,
    /// The refund.
    pub refund_id: Uuid,
    /// This refund, minor units.
    pub amount: i64,
    /// Refunded so far, this one included.
    pub refunded_total: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Nothing is left to refund.
    pub fully_refunded: bool,
    /// The customer, when known (for mailing).
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    #[serde(default)]
    pub email: String,
}

impl Event for PaymentRefunded {
    const TYPE: &'static str = "payment.refunded";
}
