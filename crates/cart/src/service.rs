//! The cart's use cases.

use std::sync::Arc;

use contracts::clients::{
    ClientError,
    cart::{CartLine, CartSnapshot, OrderedUnits},
    catalog::{CatalogClient, VariantInfo},
};
use platform::{auth::AuthUser, db::Db, time::now_millis};
use uuid::Uuid;

use crate::{
    config::CartConfig,
    domain::{self, LINES_MAX, QUANTITY_MAX, check_quantity},
    error::{CartError, Result},
    store::{self, Cart, Item},
};

/// A cart with its lines.
#[derive(Debug, Clone)]
pub struct CartView {
    /// The cart.
    pub cart: Cart,
    /// Its lines.
    pub items: Vec<Item>,
}

/// The cart service.
pub struct CartService {
    db: Db,
    cfg: CartConfig,
    catalog: Arc<dyn CatalogClient>,
}

impl std::fmt::Debug for CartService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CartService").finish_non_exhaustive()
    }
}

impl CartService {
    /// The service over a migrated database, reading the catalog through `catalog`.
    pub fn new(db: Db, cfg: CartConfig, catalog: Arc<dyn CatalogClient>) -> Self {
        Self { db, cfg, catalog }
    }

    async fn view(&self, cart: Cart) -> Result<CartView> {
        let items = store::items(self.db.pool(), cart.id).await?;
        Ok(CartView { cart, items })
    }

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
            updated_at: now_millis(),
        };
        match store::insert(self.db.pool(), &cart).await {
            Ok(()) => Ok((
                CartView {
                    cart,
                    items: Vec::new(),
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

    async fn accessible(&self, cart_id: Uuid, caller: Option<&AuthUser>) -> Result<Cart> {
        self.accessible_to(cart_id, caller.map(|c| c.id))
            .await?
            .ok_or(CartError::NotFound("cart"))
    }

    async fn accessible_to(&self, cart_id: Uuid, customer: Option<Uuid>) -> Result<Option<Cart>> {
        let Some(cart) = store::find(self.db.pool(), cart_id).await? else {
            return Ok(None);
        };
        Ok(match cart.customer_id {
            None => Some(cart),
            Some(owner) if customer == Some(owner) => Some(cart),
            Some(_) => None,
        })
    }

    /// The cart as checkout reads it, if `customer` (None: a guest) may see it.
    pub async fn snapshot(
        &self,
        cart_id: Uuid,
        customer: Option<Uuid>,
    ) -> Result<Option<CartSnapshot>> {
        let Some(cart) = self.accessible_to(cart_id, customer).await? else {
            return Ok(None);
        };
        let items = store::items(self.db.pool(), cart.id).await?;
        Ok(Some(CartSnapshot {
            id: cart.id,
            customer_id: cart.customer_id,
            currency: cart.currency,
            items: items
                .into_iter()
                .map(|i| CartLine {
                    variant_id: i.variant_id,
                    sku: i.sku,
                    product_name: i.product_name,
                    variant_title: i.variant_title,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
        }))
    }

    async fn variant(&self, variant_id: Uuid) -> Result<VariantInfo> {
        match self.catalog.variant(variant_id).await {
            Ok(Some(info)) => Ok(info),
            Ok(None) => Err(CartError::NotFound("variant")),
            Err(ClientError::Unavailable { detail, .. }) => {
                Err(CartError::CatalogUnavailable(detail))
            }
        }
    }

    /// Adds units of a variant, priced by the catalog; an existing line grows.
    pub async fn add(
        &self,
        cart_id: Uuid,
        caller: Option<&AuthUser>,
        variant_id: Uuid,
        quantity: i64,
    ) -> Result<CartView> {
        check_quantity(quantity).map_err(|e| CartError::field("quantity", e))?;
        let cart = self.accessible(cart_id, caller).await?;
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
            variant_id,
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
            let held = store::quantity_of(&mut *tx, cart.id, variant_id).await?;
            return Err(domain::refused_add(held, quantity, info.available));
        }
        tx.commit().await?;
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
            let info = self.variant(item.variant_id).await?;
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

    /// Takes an order's units out of its cart, once per order: asked by
    /// orders right after placing (so the next look at the cart is right)
    /// and again by `order.placed` (in case that call failed).
    pub async fn checkout(
        &self,
        cart_id: Uuid,
        order_id: Uuid,
        units: &[OrderedUnits],
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        if eventbus::inbox::claim(&mut tx, "cart-orders", order_id).await? {
            store::lock(&mut tx, cart_id, now_millis()).await?;
            for unit in units {
                store::take(&mut tx, cart_id, unit.variant_id, unit.quantity).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Checkout as the cart API offers it: only on a cart the caller may see.
    pub async fn checkout_for(
        &self,
        cart_id: Uuid,
        caller: Option<&AuthUser>,
        order_id: Uuid,
        units: &[OrderedUnits],
    ) -> Result<CartView> {
        let cart = self.accessible(cart_id, caller).await?;
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
                variant_id: l.variant_id,
                quantity: l.quantity,
            })
            .collect();
        self.checkout(cart_id, placed.order_id, &units).await?;
        Ok(())
    }

    /// Deletes carts idle for longer than configured; returns how many.
    pub async fn expire_idle(&self) -> Result<u64> {
        let before =
            now_millis() - i64::try_from(self.cfg.idle_days * 86_400_000).unwrap_or(i64::MAX);
        let mut tx = self.db.begin_write().await?;
        let removed = store::delete_idle(&mut tx, before).await?;
        tx.commit().await?;
        Ok(removed)
    }
}

/// Deletes idle carts every hour until `shutdown`.
pub async fn run_janitor(service: Arc<CartService>, shutdown: tokio_util::sync::CancellationToken) {
    loop {
        match service.expire_idle().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(carts = n, "deleted idle carts"),
            Err(e) => tracing::warn!(error.message = %e, "deleting idle carts failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {},
            () = shutdown.cancelled() => return,
        }
    }
}
