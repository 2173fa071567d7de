//! The payments service's subscription: what orders owe, when their stock
//! is held, and when they are cancelled. One subscription, so that events
//! about one order are handled in publication order.

use std::sync::Arc;

use contracts::events::{
    Event,
    inventory::InventoryReserved,
    orders::{OrderCancelled, OrderPlaced},
};
use eventbus::{Envelope, Handler, Subscription};
use futures::future::BoxFuture;

use crate::service::PaymentsService;

/// `payments-orders`: `order.placed`, `inventory.reserved`, `order.cancelled`.
pub fn subscription() -> Subscription {
    Subscription::new(
        crate::NAME,
        "orders",
        &[
            OrderPlaced::TYPE,
            InventoryReserved::TYPE,
            OrderCancelled::TYPE,
        ],
    )
}

/// Routes the events to the service.
pub struct OrderEvents(pub Arc<PaymentsService>);

impl Handler for OrderEvents {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match event.event_type.as_str() {
                OrderPlaced::TYPE => self.0.on_order_placed(event).await,
                InventoryReserved::TYPE => self.0.on_inventory_reserved(event).await,
                OrderCancelled::TYPE => self.0.on_order_cancelled(event).await,
                other => {
                    tracing::debug!(event.type = other, "ignored");
                    Ok(())
                }
            }
        })
    }
}
