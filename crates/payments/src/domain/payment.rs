//! A payment's states: `pending` -> `succeeded` | `failed`; a succeeded
//! payment is refunded in one or more parts, never beyond what was taken.

use contracts::checkout::Provider;
use uuid::Uuid;

/// Where a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created; waiting for the customer.
    Pending,
    /// The money is taken.
    Succeeded,
    /// Refused, or voided because its order was cancelled.
    Failed,
    /// Part of it went back.
    PartiallyRefunded,
    /// All of it went back.
    Refunded,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Refunded => "refunded",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Succeeded,
            Self::Failed,
            Self::PartiallyRefunded,
            Self::Refunded,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// Can money still go back?
    pub fn refundable(self) -> bool {
        matches!(self, Self::Succeeded | Self::PartiallyRefunded)
    }

    /// The status after `refunded` of `amount` has gone back.
    pub fn after_refunds(amount: i64, refunded: i64) -> Self {
        if refunded >= amount {
            Self::Refunded
        } else if refunded > 0 {
            Self::PartiallyRefunded
        } else {
            Self::Succeeded
        }
    }
}

/// Why a refund cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefused {
    /// Nothing was taken (yet, or ever).
    #[error("the payment is {0}; only a succeeded payment can be refunded")]
    NotRefundable(&'static str),
    /// Everything went back already.
    #[error("nothing remains to refund: all of it went back already")]
    NothingRemains,
    /// More than what remains.
    #[error("at most {remaining} can be refunded")]
    TooMuch {
        /// What is left to refund.
        remaining: i64,
    },
    /// Zero or negative.
    #[error("must be a positive amount")]
    NotPositive,
}

/// The amount to refund: `asked`, or all that remains; checked.
pub fn refund_amount(
    status: Status,
    amount: i64,
    refunded: i64,
    asked: Option<i64>,
) -> Result<i64, RefundRefused> {
    let remaining = amount - refunded;
    if status == Status::Refunded || (status.refundable() && remaining <= 0) {
        return Err(RefundRefused::NothingRemains);
    }
    if !status.refundable() {
        return Err(RefundRefused::NotRefundable(status.as_str()));
    }
    let wanted = asked.unwrap_or(remaining);
    if wanted <= 0 {
        return Err(RefundRefused::NotPositive);
    }
    if wanted > remaining {
        return Err(RefundRefused::TooMuch { remaining });
    }
    Ok(wanted)
}

/// What an order owes (from `order.placed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The order.
    pub order_id: Uuid,
    /// Its customer, None for a guest.
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    pub email: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Chosen provider.
    pub provider: Provider,
    /// order.cancelled arrived.
    pub cancelled: bool,
}

/// A payment of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// UUIDv7 for a customer's payment; random for a guest's, whose
    /// capability it is.
    pub id: Uuid,
    /// The order it pays.
    pub order_id: Uuid,
    /// The order's customer, None for a guest.
    pub customer_id: Option<Uuid>,
    /// Where to mail.
    pub email: String,
    /// Its provider.
    pub provider: Provider,
    /// The provider's id of it; empty while a provider outage keeps it
    /// from being opened there.
    pub provider_ref: String,
    /// Where it is.
    pub status: Status,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Refunded or being refunded.
    pub refunded_amount: i64,
    /// Why it failed.
    pub failure_code: Option<String>,
    /// For the client (Stripe).
    pub client_secret: Option<String>,
    /// For the customer (PayPal).
    pub approval_url: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A refund of part or all of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// New per attempt; the provider's idempotency key for it.
    pub id: Uuid,
    /// Its payment.
    pub payment_id: Uuid,
    /// Minor units.
    pub amount: i64,
    /// pending | succeeded | failed.
    pub status: String,
    /// The provider's id of it.
    pub provider_ref: Option<String>,
    /// Why (an admin's refund, an order cancelled).
    pub reason: String,
    /// Unix ms.
    pub created_at: i64,
}

impl Payment {
    /// What a refund of `asked` (or of all that remains) would return, by
    /// [`refund_amount`]'s rules.
    pub fn refund(&self, asked: Option<i64>) -> Result<i64, RefundRefused> {
        refund_amount(self.status, self.amount, self.refunded_amount, asked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_refunds_what_remains_of_it_and_no_more() {
        let payment = Payment {
            id: Uuid::nil(),
            order_id: Uuid::nil(),
            customer_id: None,
            email: "guest@example.com".into(),
            provider: Provider::Test,
            provider_ref: "pi_1".into(),
            status: Status::PartiallyRefunded,
            amount: 1000,
            currency: "EUR".into(),
            refunded_amount: 600,
            failure_code: None,
            client_secret: None,
            approval_url: None,
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(payment.refund(None), Ok(400));
        assert_eq!(
            payment.refund(Some(401)),
            Err(RefundRefused::TooMuch { remaining: 400 })
        );
        let pending = Payment {
            status: Status::Pending,
            refunded_amount: 0,
            ..payment
        };
        assert_eq!(
            pending.refund(None),
            Err(RefundRefused::NotRefundable("pending"))
        );
    }

    #[test]
    fn refunds_default_to_what_remains_and_never_exceed_it() {
        assert_eq!(refund_amount(Status::Succeeded, 1000, 0, None), Ok(1000));
        assert_eq!(
            refund_amount(Status::PartiallyRefunded, 1000, 300, None),
            Ok(700)
        );
        assert_eq!(
            refund_amount(Status::PartiallyRefunded, 1000, 300, Some(701)),
            Err(RefundRefused::TooMuch { remaining: 700 })
        );
        assert_eq!(
            refund_amount(Status::Succeeded, 1000, 0, Some(0)),
            Err(RefundRefused::NotPositive)
        );
        assert_eq!(
            refund_amount(Status::Pending, 1000, 0, None),
            Err(RefundRefused::NotRefundable("pending"))
        );
        for asked in [None, Some(1)] {
            assert_eq!(
                refund_amount(Status::Refunded, 1000, 1000, asked),
                Err(RefundRefused::NothingRemains)
            );
            // All of it earmarked by refunds still under way.
            assert_eq!(
                refund_amount(Status::Succeeded, 1000, 1000, asked),
                Err(RefundRefused::NothingRemains)
            );
        }
    }

    #[test]
    fn status_follows_the_refunded_total() {
        assert_eq!(Status::after_refunds(1000, 0), Status::Succeeded);
        assert_eq!(Status::after_refunds(1000, 1), Status::PartiallyRefunded);
        assert_eq!(Status::after_refunds(1000, 1000), Status::Refunded);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            "pending",
            "succeeded",
            "failed",
            "partially_refunded",
            "refunded",
        ] {
            assert_eq!(Status::parse(s).map(Status::as_str), Some(s));
        }
    }
}
