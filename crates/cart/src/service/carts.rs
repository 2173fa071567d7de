//! Opening, reading and claiming carts.

use super::*;

impl CartService {
    /// A guest cart (no caller) or the caller's active cart; true when created.
    pub async fn open(
        &self,
        caller: Option<&AuthUser>,
        currency: Option<&str>,
    ) -> Result<(CartView, bool)> {
        let currency = currency
            .unwrap_or(&self.cfg.default_currency)
            .to_ascii_uppercase();
        if !platform::money::is_currency(&currency) {
            return Err(CartError::field(
                "currency",
                "must be an ISO 4217 code such as USD",
            ));
        }
        if let Some(caller) = caller
            && let Some(existing) = store::find_by_customer(self.db.pool(), caller.id).await?
        {
            return Ok((self.view(existing).await?, false));
        }
        let cart = Cart {
            // A guest cart's id is its only key: random, not time-ordered.
            id: Uuid::new_v4(),
            customer_id: caller.map(|c| c.id),
            currency,
            promotion_code: None,
            updated_at: now_millis(),
        };
        match store::insert(self.db.pool(), &cart).await {
            Ok(()) => Ok((
                CartView {
                    cart,
                    items: Vec::new(),
                    quote: empty_quote(),
                },
                true,
            )),
            // Two first requests of one customer at once: the other won.
            Err(e)
                if platform::db::is_unique_violation(
                    &e,
                    store::CUSTOMER_KEY,
                    "cart.customer_id",
                ) =>
            {
                let caller = caller.ok_or_else(|| CartError::Unexpected(e.into()))?;
                let existing = store::find_by_customer(self.db.pool(), caller.id)
                    .await?
                    .ok_or(CartError::NotFound("cart"))?;
                Ok((self.view(existing).await?, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The caller's cart, if they may see it: a customer's cart only to its
    /// owner, a guest cart to whoever has its id. Others get 404.
    pub async fn get(&self, cart_id: Uuid, caller: Option<&AuthUser>) -> Result<CartView> {
        let cart = self.accessible(cart_id, caller).await?;
        self.view(cart).await
    }

    /// The cart as checkout reads it, if `customer` (None: a guest) may see it.
    pub async fn snapshot(
        &self,
        cart_id: CartId,
        customer: Option<CustomerId>,
    ) -> Result<Option<CartSnapshot>> {
        let Some(cart) = self
            .accessible_to(cart_id.uuid(), customer.map(CustomerId::uuid))
            .await?
        else {
            return Ok(None);
        };
        let items = store::items(self.db.pool(), cart.id).await?;
        Ok(Some(CartSnapshot {
            id: cart.id.into(),
            customer_id: cart.customer_id.map(Into::into),
            currency: cart.currency,
            promotion_code: cart.promotion_code,
            items: items
                .into_iter()
                .map(|i| CartLine {
                    variant_id: i.variant_id.into(),
                    sku: i.sku,
                    product_name: i.product_name,
                    variant_title: i.variant_title,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
        }))
    }

    /// Merges a guest cart into the customer's active cart (quantities add
    /// up, capped by the limits) and deletes the guest cart.
    pub async fn claim(&self, guest_cart_id: Uuid, customer: &AuthUser) -> Result<CartView> {
        let guest = store::find(self.db.pool(), guest_cart_id)
            .await?
            .ok_or(CartError::NotFound("cart"))?;
        match guest.customer_id {
            // Claiming one's own cart is a no-op.
            Some(owner) if owner == customer.id => return self.view(guest).await,
            Some(_) => return Err(CartError::NotFound("cart")),
            None => {}
        }
        let (target, _) = self.open(Some(customer), Some(&guest.currency)).await?;
        if target.cart.currency != guest.currency {
            return Err(CartError::CurrencyMismatch {
                variant: guest.currency,
                cart: target.cart.currency,
            });
        }
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        if !store::lock(&mut tx, target.cart.id, now).await? {
            return Err(CartError::NotFound("cart"));
        }
        // Taking the guest cart's lines and deleting it in this transaction
        // is what makes a second claim of it (at the same moment) a 404
        // instead of a second merge.
        let guest_items = store::take_guest(&mut tx, guest.id)
            .await?
            .ok_or(CartError::NotFound("cart"))?;
        let mut lines = store::items(&mut *tx, target.cart.id).await?;
        for incoming in guest_items {
            if let Some(line) = lines
                .iter_mut()
                .find(|l| l.variant_id == incoming.variant_id)
            {
                line.quantity = (line.quantity + incoming.quantity).min(QUANTITY_MAX);
                store::update_item(&mut *tx, target.cart.id, line).await?;
            } else if lines.len() < LINES_MAX {
                let line = Item {
                    id: Uuid::now_v7(),
                    ..incoming
                };
                store::insert_item(&mut *tx, target.cart.id, &line, now).await?;
                lines.push(line);
            }
        }
        tx.commit().await?;
        self.view(target.cart).await
    }
}
