//! The cart's use cases.

use contracts::ids::{CartId, CustomerId, OrderId, VariantId};
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

mod carts;
mod checkout;
mod lines;

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

    async fn variant(&self, variant_id: VariantId) -> Result<VariantInfo> {
        match self.catalog.variant(variant_id).await {
            Ok(Some(info)) => Ok(info),
            Ok(None) => Err(CartError::NotFound("variant")),
            Err(ClientError::Unavailable { detail, .. }) => {
                Err(CartError::CatalogUnavailable(detail))
            }
        }
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
