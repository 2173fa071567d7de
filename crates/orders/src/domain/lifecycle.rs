//! The order state machine of API.md:
//!
//! `pending` -> `awaiting_payment` -> `paid` -> `shipped` -> `delivered`,
//! and `cancelled` from `pending`, `awaiting_payment` or `paid`.
//!
//! Transitions are methods that check the current status and append to the
//! history; an invalid one is an error naming the current status (409).

use uuid::Uuid;

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Placed; stock not yet reserved.
    Pending,
    /// Stock reserved; waiting for the payment.
    AwaitingPayment,
    /// Paid; stock sold.
    Paid,
    /// Handed to a carrier.
    Shipped,
    /// Received.
    Delivered,
    /// Stopped; see the cancel reason.
    Cancelled,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::AwaitingPayment => "awaiting_payment",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
        }
    }

    /// Every status, in the order an order can pass through them.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::AwaitingPayment,
        Self::Paid,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
    ];

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// Where the money is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// No payment yet.
    None,
    /// A payment exists and is not settled.
    Pending,
    /// Paid (also after a partial refund).
    Succeeded,
    /// The payment failed.
    Failed,
    /// Fully refunded.
    Refunded,
}

impl PaymentStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::None,
            Self::Pending,
            Self::Succeeded,
            Self::Failed,
            Self::Refunded,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The stock could not be reserved.
    OutOfStock,
    /// The payment failed.
    PaymentFailed,
    /// The payment did not come in time.
    PaymentTimeout,
    /// The customer cancelled.
    CustomerRequest,
    /// An admin cancelled.
    Admin,
    /// A promotion it was placed with could no longer apply.
    PromotionUnavailable,
}

impl CancelReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutOfStock => "out_of_stock",
            Self::PaymentFailed => "payment_failed",
            Self::PaymentTimeout => "payment_timeout",
            Self::CustomerRequest => "customer_request",
            Self::Admin => "admin",
            Self::PromotionUnavailable => "promotion_unavailable",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::OutOfStock,
            Self::PaymentFailed,
            Self::PaymentTimeout,
            Self::CustomerRequest,
            Self::Admin,
            Self::PromotionUnavailable,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// A refused transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the order is {}; it cannot become {wanted}", current.as_str())]
pub struct InvalidTransition {
    /// The status the order is in.
    pub current: Status,
    /// What was asked.
    pub wanted: &'static str,
}

/// One entry of an order's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The status entered.
    pub status: Status,
    /// Unix ms.
    pub at: i64,
    /// Why, for people.
    pub note: String,
}

/// Tracking of a shipped order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// Carrier name.
    pub carrier: String,
    /// Carrier's tracking number.
    pub tracking_number: String,
}

/// The parts of an order the state machine governs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// Current status.
    pub status: Status,
    /// Current payment status.
    pub payment_status: PaymentStatus,
    /// Set when cancelled.
    pub cancel_reason: Option<CancelReason>,
    /// The payment, once created.
    pub payment_id: Option<Uuid>,
    /// Set when shipped.
    pub tracking: Option<Tracking>,
    /// Every status entered, oldest first.
    pub history: Vec<HistoryEntry>,
}

impl Lifecycle {
    /// A freshly placed order.
    pub fn placed(at: i64) -> Self {
        Self {
            status: Status::Pending,
            payment_status: PaymentStatus::None,
            cancel_reason: None,
            payment_id: None,
            tracking: None,
            history: vec![HistoryEntry {
                status: Status::Pending,
                at,
                note: "order placed".into(),
            }],
        }
    }

    fn enter(&mut self, status: Status, at: i64, note: impl Into<String>) {
        self.status = status;
        self.history.push(HistoryEntry {
            status,
            at,
            note: note.into(),
        });
    }

    fn require(&self, allowed: &[Status], wanted: &'static str) -> Result<(), InvalidTransition> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(InvalidTransition {
                current: self.status,
                wanted,
            })
        }
    }

    /// Stock is reserved: the order waits for its payment.
    pub fn stock_reserved(&mut self, at: i64) -> Result<(), InvalidTransition> {
        self.require(&[Status::Pending], "awaiting_payment")?;
        self.enter(Status::AwaitingPayment, at, "stock reserved");
        Ok(())
    }

    /// A payment was created for the order.
    pub fn payment_created(&mut self, payment_id: Uuid) -> Result<(), InvalidTransition> {
        self.require(
            &[Status::Pending, Status::AwaitingPayment, Status::Cancelled],
            "payment pending",
        )?;
        self.payment_id = Some(payment_id);
        // Cancelled before the news arrived: payments voids it.
        self.payment_status = if self.status == Status::Cancelled {
            PaymentStatus::Failed
        } else {
            PaymentStatus::Pending
        };
        Ok(())
    }

    /// The payment succeeded.
    pub fn paid(&mut self, payment_id: Uuid, at: i64) -> Result<(), InvalidTransition> {
        self.require(&[Status::AwaitingPayment], "paid")?;
        self.payment_id = Some(payment_id);
        self.payment_status = PaymentStatus::Succeeded;
        self.enter(Status::Paid, at, "payment succeeded");
        Ok(())
    }

    /// Cancels the order. Returns whether money must be refunded (it was paid).
    pub fn cancel(
        &mut self,
        reason: CancelReason,
        at: i64,
        note: impl Into<String>,
    ) -> Result<bool, InvalidTransition> {
        self.require(
            &[Status::Pending, Status::AwaitingPayment, Status::Paid],
            "cancelled",
        )?;
        let refund = self.status == Status::Paid;
        // A payment still open when its order is cancelled is voided by
        // payments (`order_cancelled`), whatever the reason: the order's
        // payment status follows it.
        if reason == CancelReason::PaymentFailed || self.payment_status == PaymentStatus::Pending {
            self.payment_status = PaymentStatus::Failed;
        }
        self.cancel_reason = Some(reason);
        self.enter(Status::Cancelled, at, note);
        Ok(refund)
    }

    /// Hands the order to a carrier.
    pub fn ship(&mut self, tracking: Tracking, at: i64) -> Result<(), InvalidTransition> {
        self.require(&[Status::Paid], "shipped")?;
        let note = format!(
            "shipped with {} ({})",
            tracking.carrier, tracking.tracking_number
        );
        self.tracking = Some(tracking);
        self.enter(Status::Shipped, at, note);
        Ok(())
    }

    /// The customer received it.
    pub fn deliver(&mut self, at: i64) -> Result<(), InvalidTransition> {
        self.require(&[Status::Shipped], "delivered")?;
        self.enter(Status::Delivered, at, "delivered");
        Ok(())
    }

    /// The payment was refunded, fully or not.
    pub fn refunded(&mut self, full: bool) {
        if full {
            self.payment_status = PaymentStatus::Refunded;
        }
    }

    /// May the customer still cancel? (Until it ships.)
    pub fn customer_may_cancel(&self) -> bool {
        matches!(
            self.status,
            Status::Pending | Status::AwaitingPayment | Status::Paid
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking() -> Tracking {
        Tracking {
            carrier: "DHL".into(),
            tracking_number: "JD0001".into(),
        }
    }

    #[test]
    fn the_happy_path_is_recorded_in_order() {
        let mut order = Lifecycle::placed(1);
        let payment = Uuid::now_v7();
        order.stock_reserved(2).unwrap();
        order.payment_created(payment).unwrap();
        assert_eq!(order.payment_status, PaymentStatus::Pending);
        order.paid(payment, 3).unwrap();
        order.ship(tracking(), 4).unwrap();
        order.deliver(5).unwrap();
        let statuses: Vec<&str> = order.history.iter().map(|h| h.status.as_str()).collect();
        assert_eq!(
            statuses,
            [
                "pending",
                "awaiting_payment",
                "paid",
                "shipped",
                "delivered"
            ]
        );
        assert_eq!(
            order.history.iter().map(|h| h.at).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(order.payment_status, PaymentStatus::Succeeded);
        assert_eq!(order.tracking, Some(tracking()));
    }

    #[test]
    fn invalid_transitions_name_the_current_status() {
        let mut order = Lifecycle::placed(1);
        let err = order.ship(tracking(), 2).unwrap_err();
        assert_eq!(err.current, Status::Pending);
        assert_eq!(
            err.to_string(),
            "the order is pending; it cannot become shipped"
        );
        assert!(
            order.paid(Uuid::now_v7(), 2).is_err(),
            "paid needs reserved stock first"
        );
        assert!(order.deliver(2).is_err());
        assert_eq!(
            order.history.len(),
            1,
            "a refused transition changes nothing"
        );
    }

    #[test]
    fn cancelling_is_possible_until_shipping_and_refunds_a_paid_order() {
        let mut unpaid = Lifecycle::placed(1);
        unpaid.stock_reserved(2).unwrap();
        assert_eq!(
            unpaid.cancel(CancelReason::CustomerRequest, 3, "by customer"),
            Ok(false)
        );
        assert_eq!(unpaid.cancel_reason, Some(CancelReason::CustomerRequest));

        let mut paid = Lifecycle::placed(1);
        paid.stock_reserved(2).unwrap();
        paid.paid(Uuid::now_v7(), 3).unwrap();
        assert!(paid.customer_may_cancel());
        assert_eq!(paid.cancel(CancelReason::Admin, 4, "by admin"), Ok(true));

        let mut shipped = Lifecycle::placed(1);
        shipped.stock_reserved(2).unwrap();
        shipped.paid(Uuid::now_v7(), 3).unwrap();
        shipped.ship(tracking(), 4).unwrap();
        assert!(!shipped.customer_may_cancel());
        assert_eq!(
            shipped
                .cancel(CancelReason::Admin, 5, "late")
                .unwrap_err()
                .current,
            Status::Shipped
        );
        assert!(
            unpaid.cancel(CancelReason::Admin, 9, "again").is_err(),
            "a cancelled order stays cancelled"
        );
    }

    #[test]
    fn a_failed_payment_cancels_with_its_reason() {
        let mut order = Lifecycle::placed(1);
        order.stock_reserved(2).unwrap();
        order.payment_created(Uuid::now_v7()).unwrap();
        order
            .cancel(CancelReason::PaymentFailed, 3, "card declined")
            .unwrap();
        assert_eq!(order.payment_status, PaymentStatus::Failed);
        assert_eq!(order.status, Status::Cancelled);
    }

    #[test]
    fn a_cancelled_order_s_open_payment_is_failed_and_a_paid_one_stays_succeeded() {
        for reason in [CancelReason::PaymentTimeout, CancelReason::CustomerRequest] {
            let mut order = Lifecycle::placed(1);
            order.stock_reserved(2).unwrap();
            order.payment_created(Uuid::now_v7()).unwrap();
            order.cancel(reason, 3, "no payment came").unwrap();
            assert_eq!(order.payment_status, PaymentStatus::Failed, "{reason:?}");
        }
        let mut paid = Lifecycle::placed(1);
        paid.stock_reserved(2).unwrap();
        paid.payment_created(Uuid::now_v7()).unwrap();
        paid.paid(Uuid::now_v7(), 3).unwrap();
        assert!(paid.cancel(CancelReason::Admin, 4, "refund it").unwrap());
        assert_eq!(
            paid.payment_status,
            PaymentStatus::Succeeded,
            "until the refund"
        );
        let mut unpaid = Lifecycle::placed(1);
        unpaid
            .cancel(CancelReason::OutOfStock, 2, "none left")
            .unwrap();
        assert_eq!(unpaid.payment_status, PaymentStatus::None);
    }

    #[test]
    fn out_of_stock_cancels_a_pending_order() {
        let mut order = Lifecycle::placed(1);
        assert_eq!(
            order.cancel(CancelReason::OutOfStock, 2, "SKU-1 out of stock"),
            Ok(false)
        );
        assert_eq!(
            order.cancel_reason.map(CancelReason::as_str),
            Some("out_of_stock")
        );
    }

    #[test]
    fn statuses_round_trip_their_wire_names() {
        for s in [
            "pending",
            "awaiting_payment",
            "paid",
            "shipped",
            "delivered",
            "cancelled",
        ] {
            assert_eq!(Status::parse(s).map(Status::as_str), Some(s));
        }
        assert_eq!(Status::parse("lost"), None);
    }
}
