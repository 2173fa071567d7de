//! Request and response bodies of the payments API.

use platform::{money::Money, time::from_millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::payment::{Payment, Refund};

/// `GET /payments?order_id=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaymentListQuery {
    /// The order whose payments to list.
    #[param(value_type = Uuid, required = true)]
    pub order_id: Option<String>,
}

/// `POST /payments/{id}/confirm`: a test card for the test provider;
/// nothing for PayPal (the buyer approved it there: it is captured).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    /// A test card: 4242424242424242 succeeds, 4000000000000002 is
    /// declined, 4000000000009995 has insufficient funds.
    #[serde(default)]
    #[schema(schema_with = test_card)]
    pub card_number: Option<String>,
}

/// `POST /payments/{id}/refunds`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    /// Minor units of the payment's currency; default: all that remains.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
}

/// A payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    /// Its id, as its URLs carry it.
    pub id: Uuid,
    /// The order it pays.
    pub order_id: Uuid,
    /// test | stripe | paypal.
    pub provider: String,
    /// pending | succeeded | failed | refunded | partially_refunded.
    pub status: String,
    /// What is charged.
    pub amount: Money,
    /// Refunded so far.
    pub refunded_amount: Money,
    /// Why it failed (card_declined, insufficient_funds, order_cancelled, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    /// For the client to confirm the payment (Stripe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Where the customer approves the payment (PayPal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_url: Option<String>,
    /// Opened at.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Payment> for PaymentOut {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id,
            order_id: p.order_id,
            provider: p.provider.as_str().to_owned(),
            status: p.status.as_str().into(),
            amount: Money::new(p.amount, &p.currency),
            refunded_amount: Money::new(p.refunded_amount, &p.currency),
            failure_code: p.failure_code.clone(),
            client_secret: p.client_secret.clone(),
            approval_url: p.approval_url.clone(),
            created_at: from_millis(p.created_at),
            updated_at: from_millis(p.updated_at),
        }
    }
}

/// The payments of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentList {
    /// At most one per order today.
    pub items: Vec<PaymentOut>,
}

/// A refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundOut {
    /// Its id, as its URLs carry it.
    pub id: Uuid,
    /// Its payment.
    pub payment_id: Uuid,
    /// What went back.
    pub amount: Money,
    /// succeeded.
    pub status: String,
    /// The payment after it.
    pub payment: PaymentOut,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl RefundOut {
    /// The response body of a refund.
    pub fn new(refund: &Refund, payment: &Payment) -> Self {
        Self {
            id: refund.id,
            payment_id: refund.payment_id,
            amount: Money::new(refund.amount, &payment.currency),
            status: refund.status.clone(),
            payment: PaymentOut::from(payment),
            created_at: from_millis(refund.created_at),
        }
    }
}

/// The test provider's cards (null or no body: a PayPal capture).
fn test_card() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    platform::http::schema::nullable(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(
                crate::domain::test_cards::CARDS
                    .iter()
                    .map(|(number, _)| *number),
            ))
            .build(),
    )
}
