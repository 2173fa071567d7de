//! The orders service's subscription: the saga's replies from catalog and
//! payments move each order along. One subscription for all of them, so
//! that events about one order are handled in the order they were
//! published (the bus orders by key, the order id).

use std::sync::Arc;

use contracts::events::{
    Event,
    inventory::{InventoryReleased, InventoryReservationFailed, InventoryReserved},
    payments::{PaymentCreated, PaymentFailed, PaymentRefunded, PaymentSucceeded},
};
use eventbus::{Envelope, Handler, Subscription};
use futures::future::BoxFuture;

use crate::service::OrdersService;

/// `orders-saga`: inventory and payment events.
pub fn subscription() -> Subscription {
    Subscription::new(
        crate::NAME,
        "saga",
        &[
            InventoryReserved::TYPE,
            InventoryReservationFailed::TYPE,
            InventoryReleased::TYPE,
            PaymentCreated::TYPE,
            PaymentSucceeded::TYPE,
            PaymentFailed::TYPE,
            PaymentRefunded::TYPE,
        ],
    )
}

/// Routes saga events to the service; each handled once (inbox).
pub struct SagaEvents(pub Arc<OrdersService>);

impl Handler for SagaEvents {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let s = &self.0;
            match event.event_type.as_str() {
                InventoryReserved::TYPE => s.on_inventory_reserved(event).await,
                InventoryReservationFailed::TYPE => s.on_reservation_failed(event).await,
                InventoryReleased::TYPE => s.on_inventory_released(event).await,
                PaymentCreated::TYPE => s.on_payment_created(event).await,
                PaymentSucceeded::TYPE => s.on_payment_succeeded(event).await,
                PaymentFailed::TYPE => s.on_payment_failed(event).await,
                PaymentRefunded::TYPE => s.on_payment_refunded(event).await,
                other => {
                    tracing::debug!(event.type = other, "ignored");
                    Ok(())
                }
            }
        })
    }
}
