//! What orders and the catalog's events do to carts: checkout snapshots, a
//! cart emptied once its order is placed, prices refreshed.

use super::*;

impl CartService {
    /// Handles `product.updated` once: lines of its variants take the new price.
    pub async fn on_product_updated(&self, event: &eventbus::Envelope) -> anyhow::Result<()> {
        let updated: contracts::events::catalog::ProductUpdated = event.payload()?;
        let mut tx = self.db.begin_write().await?;
        if eventbus::inbox::claim(&mut tx, "cart-prices", event.id).await? {
            let mut lines = 0;
            for variant in &updated.variants {
                lines += store::reprice(
                    &mut tx,
                    variant.variant_id,
                    &updated.currency,
                    variant.price,
                )
                .await?;
            }
            if lines > 0 {
                tracing::info!(product = %updated.product_id, lines, "cart prices refreshed");
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes an order's units (and its promotion code) out of its cart,
    /// once per order: asked by
    /// orders right after placing (so the next look at the cart is right)
    /// and again by `order.placed` (in case that call failed).
    pub async fn checkout(
        &self,
        cart_id: CartId,
        order_id: OrderId,
        units: &[OrderedUnits],
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        if eventbus::inbox::claim(&mut tx, "cart-orders", order_id.uuid()).await? {
            let now = now_millis();
            store::lock(&mut tx, cart_id.uuid(), now).await?;
            // The code went with the order; the next order starts without.
            store::set_code(&mut *tx, cart_id.uuid(), None, now).await?;
            for unit in units {
                store::take(
                    &mut tx,
                    cart_id.uuid(),
                    unit.variant_id.uuid(),
                    unit.quantity,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Checkout as the cart API offers it: only on a cart the caller may see.
    pub async fn checkout_for(
        &self,
        cart_id: CartId,
        caller: Option<&AuthUser>,
        order_id: OrderId,
        units: &[OrderedUnits],
    ) -> Result<CartView> {
        let cart = self.accessible(cart_id.uuid(), caller).await?;
        self.checkout(cart_id, order_id, units).await?;
        self.view(cart).await
    }

    /// Handles `order.placed`: the ordered units leave the cart they came
    /// from (units added since stay).
    pub async fn on_order_placed(&self, event: &eventbus::Envelope) -> anyhow::Result<()> {
        let placed: contracts::events::orders::OrderPlaced = event.payload()?;
        let Some(cart_id) = placed.cart_id else {
            return Ok(());
        };
        let units: Vec<OrderedUnits> = placed
            .lines
            .iter()
            .map(|l| OrderedUnits {
                variant_id: l.variant_id.into(),
                quantity: l.quantity,
            })
            .collect();
        self.checkout(cart_id.into(), placed.order_id.into(), &units)
            .await?;
        Ok(())
    }
}
