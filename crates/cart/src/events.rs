//! The cart's subscription: `product.updated` refreshes the price snapshot
//! of every line of that product, so totals follow the catalog.

use std::sync::Arc;

use contracts::events::{Event, catalog::ProductUpdated, orders::OrderPlaced};
use eventbus::{Envelope, Handler, Subscription};
use futures::future::BoxFuture;

use crate::service::CartService;

/// `cart-prices`: `product.updated`.
pub fn subscription() -> Subscription {
    Subscription::new(crate::NAME, "prices", &[ProductUpdated::TYPE])
}

/// Applies price changes to cart lines, once per event.
pub struct PriceUpdates(pub Arc<CartService>);

impl Handler for PriceUpdates {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { self.0.on_product_updated(event).await })
    }
}

/// `cart-orders`: `order.placed` empties the cart of what was ordered.
pub fn orders_subscription() -> Subscription {
    Subscription::new(crate::NAME, "orders", &[OrderPlaced::TYPE])
}

/// Takes ordered lines out of their cart, once per order.
pub struct CheckedOut(pub Arc<CartService>);

impl Handler for CheckedOut {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { self.0.on_order_placed(event).await })
    }
}
