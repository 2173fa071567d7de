//! Pricing's subscription: `order.placed` and `order.cancelled` keep the
//! mirror of promotion uses (`times_used`, and a used-up code refused at
//! the cart before checkout).

use std::sync::Arc;

use contracts::events::{
    Event,
    orders::{OrderCancelled, OrderPlaced},
};
use eventbus::{Envelope, Handler, Subscription};
use futures::future::BoxFuture;

use crate::service::PricingService;

/// `pricing-uses`: `order.placed`, `order.cancelled`.
pub fn subscription() -> Subscription {
    Subscription::new(
        crate::NAME,
        "uses",
        &[OrderPlaced::TYPE, OrderCancelled::TYPE],
    )
}

/// Counts and gives back uses; each effect is idempotent, in either order.
pub struct Uses(pub Arc<PricingService>);

impl Handler for Uses {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match event.event_type.as_str() {
                OrderPlaced::TYPE => self.0.on_order_placed(&event.payload()?).await,
                OrderCancelled::TYPE => self.0.on_order_cancelled(&event.payload()?).await,
                _ => Ok(()),
            }
        })
    }
}
