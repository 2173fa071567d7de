//! A cart's lines: added at the catalog's price, changed, removed.

use super::*;

impl CartService {
    /// Adds units of a variant, priced by the catalog; an existing line grows.
    pub async fn add(
        &self,
        cart_id: CartId,
        caller: Option<&AuthUser>,
        variant_id: VariantId,
        quantity: i64,
    ) -> Result<CartView> {
        check_quantity(quantity).map_err(|e| CartError::field("quantity", e))?;
        let cart = self.accessible(cart_id.uuid(), caller).await?;
        let info = self.variant(variant_id).await?;
        // A cart's currency is fixed when it is opened.
        if info.currency != cart.currency {
            return Err(CartError::CurrencyMismatch {
                variant: info.currency,
                cart: cart.currency,
            });
        }
        if quantity > info.available {
            return Err(CartError::OutOfStock {
                available: info.available,
            });
        }
        let now = now_millis();
        let item = Item {
            id: Uuid::now_v7(),
            variant_id: variant_id.uuid(),
            sku: info.sku,
            product_name: info.product_name,
            variant_title: info.variant_title,
            quantity,
            unit_price: info.price,
        };
        let mut tx = self.db.begin_write().await?;
        if !store::lock(&mut tx, cart.id, now).await? {
            return Err(CartError::NotFound("cart"));
        }
        let most = QUANTITY_MAX.min(info.available);
        if store::add_units(
            &mut tx,
            cart.id,
            &item,
            most,
            i64::try_from(LINES_MAX).unwrap_or(i64::MAX),
            now,
        )
        .await?
        .is_none()
        {
            let held = store::quantity_of(&mut *tx, cart.id, variant_id.uuid()).await?;
            return Err(domain::refused_add(held, quantity, info.available));
        }
        tx.commit().await?;
        metrics::counter!("cart_adds_total").increment(1);
        self.view(cart).await
    }

    /// Sets a line's quantity; 0 removes it.
    pub async fn set_quantity(
        &self,
        cart_id: Uuid,
        caller: Option<&AuthUser>,
        item_id: Uuid,
        quantity: i64,
    ) -> Result<CartView> {
        if quantity != 0 {
            check_quantity(quantity).map_err(|e| {
                CartError::field("quantity", format!("{e}, or 0 to remove the line"))
            })?;
        }
        let cart = self.accessible(cart_id, caller).await?;
        if quantity == 0 {
            return self.remove(cart_id, caller, item_id).await;
        }
        let items = store::items(self.db.pool(), cart.id).await?;
        let mut item = items
            .into_iter()
            .find(|i| i.id == item_id)
            .ok_or(CartError::NotFound("cart line"))?;
        if quantity > item.quantity {
            let info = self.variant(item.variant_id.into()).await?;
            if quantity > info.available {
                return Err(CartError::OutOfStock {
                    available: info.available,
                });
            }
            item.unit_price = info.price;
        }
        item.quantity = quantity;
        let mut tx = self.db.begin_write().await?;
        if !store::lock(&mut tx, cart.id, now_millis()).await?
            || !store::update_item(&mut *tx, cart.id, &item).await?
        {
            // Removed (or the cart claimed) since it was read.
            return Err(CartError::NotFound("cart line"));
        }
        tx.commit().await?;
        self.view(cart).await
    }

    /// Removes a line.
    pub async fn remove(
        &self,
        cart_id: Uuid,
        caller: Option<&AuthUser>,
        item_id: Uuid,
    ) -> Result<CartView> {
        let cart = self.accessible(cart_id, caller).await?;
        let mut tx = self.db.begin_write().await?;
        if !store::lock(&mut tx, cart.id, now_millis()).await?
            || !store::delete_item(&mut *tx, cart.id, item_id).await?
        {
            return Err(CartError::NotFound("cart line"));
        }
        tx.commit().await?;
        self.view(cart).await
    }
}
