//! The order's side of the checkout saga: reactions to inventory and payment
//! events, each applied once through the inbox.

use time::OffsetDateTime;

use super::*;

impl OrdersService {
    /// Applies a saga event to its order once (inbox), in one transaction
    /// with the events the transition publishes. An event the order's status
    /// no longer allows (a late or crossed message) is recorded and skipped.
    async fn react(
        &self,
        event: &Envelope,
        order_id: Uuid,
        decide: impl Fn(&mut Order, i64) -> Result<Vec<Envelope>>,
    ) -> anyhow::Result<()> {
        loop {
            let mut tx = self.db.begin_write().await?;
            if !inbox::claim(&mut tx, SAGA_CONSUMER, event.id).await? {
                tx.commit().await?;
                return Ok(());
            }
            let Some(mut order) = store::find(&mut *tx, order_id).await? else {
                tracing::warn!(order.id = %order_id, event.type = %event.event_type, "event for an unknown order ignored");
                tx.commit().await?;
                return Ok(());
            };
            let now = now_millis();
            let events = match decide(&mut order, now) {
                Ok(events) => events,
                Err(OrderError::Transition(e)) => {
                    tracing::info!(order.id = %order_id, event.type = %event.event_type, reason = %e, "event does not apply to the order any more");
                    tx.commit().await?;
                    return Ok(());
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            };
            order.updated_at = now;
            if !store::update_lifecycle(&mut *tx, &order).await? {
                continue;
            }
            self.release_if_cancelled(&mut tx, &order, &events)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            count(&order, &events);
            for e in events {
                self.outbox
                    .append(&mut tx, &e.with_trace(event.trace.clone()))
                    .await?;
            }
            self.outbox.commit(tx).await?;
            // The step's latency: from the other service's decision to the
            // order's (outbox, relay, bus, this consumer), per event type.
            let latency = (OffsetDateTime::now_utc() - event.occurred_at).as_seconds_f64();
            metrics::histogram!("orders_saga_step_latency_seconds", "step" => event.event_type.clone())
                .record(latency.max(0.0));
            return Ok(());
        }
    }

    /// `inventory.reserved`: the order waits for its payment.
    pub async fn on_inventory_reserved(&self, event: &Envelope) -> anyhow::Result<()> {
        let reserved: InventoryReserved = event.payload()?;
        self.react(event, reserved.order_id, |order, now| {
            order.lifecycle.stock_reserved(now)?;
            Ok(vec![awaiting_payment(order)?])
        })
        .await
    }

    /// `inventory.reservation_failed`: cancelled, `out_of_stock`.
    pub async fn on_reservation_failed(&self, event: &Envelope) -> anyhow::Result<()> {
        let failed: InventoryReservationFailed = event.payload()?;
        self.react(event, failed.order_id, |order, now| {
            let note = format!("{} is out of stock", failed.sku);
            let was_paid = order
                .lifecycle
                .cancel(CancelReason::OutOfStock, now, note)?;
            Ok(vec![cancelled(order, was_paid)?])
        })
        .await
    }

    /// `inventory.released` with reason `expired`: the payment did not come
    /// in time; cancelled, `payment_timeout` (refunded if the money came in
    /// after the stock had gone back).
    pub async fn on_inventory_released(&self, event: &Envelope) -> anyhow::Result<()> {
        let released: InventoryReleased = event.payload()?;
        if released.reason != "expired" {
            return Ok(());
        }
        self.react(event, released.order_id, |order, now| {
            let was_paid = order.lifecycle.cancel(
                CancelReason::PaymentTimeout,
                now,
                "not paid in time; the stock went back on sale",
            )?;
            Ok(vec![cancelled(order, was_paid)?])
        })
        .await
    }

    /// `payment.created`: the order's payment exists.
    pub async fn on_payment_created(&self, event: &Envelope) -> anyhow::Result<()> {
        let created: PaymentCreated = event.payload()?;
        self.react(event, created.order_id, |order, _| {
            order.lifecycle.payment_created(created.payment_id)?;
            Ok(Vec::new())
        })
        .await
    }

    /// `payment.succeeded`: paid (the catalog then sells the held units).
    pub async fn on_payment_succeeded(&self, event: &Envelope) -> anyhow::Result<()> {
        let paid: PaymentSucceeded = event.payload()?;
        self.react(event, paid.order_id, |order, now| {
            let mut events = Vec::new();
            // A payment exists only for reserved stock: if its news is
            // still on the way, the reservation happened all the same.
            if order.lifecycle.status == Status::Pending {
                order.lifecycle.stock_reserved(now)?;
                events.push(awaiting_payment(order)?);
            }
            order.lifecycle.paid(paid.payment_id, now)?;
            let event = OrderPaid {
                order_id: order.id,
                payment_id: paid.payment_id,
                number: order.number.clone(),
                customer_id: order.customer_id,
                email: order.email.clone(),
                total: order.total,
                currency: order.currency.clone(),
            };
            events.push(envelope(order.id, &event, None)?);
            Ok(events)
        })
        .await
    }

    /// `payment.failed`: cancelled, `payment_failed` (stock released).
    pub async fn on_payment_failed(&self, event: &Envelope) -> anyhow::Result<()> {
        let failed: PaymentFailed = event.payload()?;
        self.react(event, failed.order_id, |order, now| {
            let note = format!("payment failed: {}", failed.failure_code);
            let was_paid = order
                .lifecycle
                .cancel(CancelReason::PaymentFailed, now, note)?;
            Ok(vec![cancelled(order, was_paid)?])
        })
        .await
    }

    /// `payment.refunded`: `payment_status` becomes `refunded` once all of
    /// it went back.
    pub async fn on_payment_refunded(&self, event: &Envelope) -> anyhow::Result<()> {
        let refunded: PaymentRefunded = event.payload()?;
        self.react(event, refunded.order_id, |order, _| {
            order.lifecycle.refunded(refunded.fully_refunded);
            Ok(Vec::new())
        })
        .await
    }
}

fn awaiting_payment(order: &Order) -> Result<Envelope> {
    envelope(
        order.id,
        &OrderAwaitingPayment {
            order: order_ref(order),
        },
        None,
    )
}

pub(super) fn cancelled(order: &Order, was_paid: bool) -> Result<Envelope> {
    let reason = order
        .lifecycle
        .cancel_reason
        .map_or("admin", CancelReason::as_str);
    envelope(
        order.id,
        &OrderCancelled {
            order_id: order.id,
            reason: reason.into(),
            number: order.number.clone(),
            customer_id: order.customer_id,
            email: order.email.clone(),
            was_paid,
        },
        None,
    )
}
