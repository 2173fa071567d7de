//! The catalog's subscription: order events drive reservations.

use std::sync::Arc;

use contracts::events::{
    Event,
    orders::{OrderCancelled, OrderPaid, OrderPlaced},
};
use eventbus::{Envelope, Handler, Subscription};
use futures::future::BoxFuture;

use crate::service::CatalogService;

/// `catalog-orders`: `order.placed`, `order.cancelled`, `order.paid`.
pub fn subscription() -> Subscription {
    Subscription::new(
        crate::NAME,
        "orders",
        &[OrderPlaced::TYPE, OrderCancelled::TYPE, OrderPaid::TYPE],
    )
}

/// Routes order events to the service; each handled once (inbox).
pub struct OrderEvents(pub Arc<CatalogService>);

impl Handler for OrderEvents {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match event.event_type.as_str() {
                OrderPlaced::TYPE => self.0.on_order_placed(event).await,
                OrderCancelled::TYPE => self.0.on_order_cancelled(event).await,
                OrderPaid::TYPE => self.0.on_order_paid(event).await,
                other => {
                    tracing::debug!(event.type = other, "ignored");
                    Ok(())
                }
            }
        })
    }
}
