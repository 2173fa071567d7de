//! The cart's use cases.

use contracts::ids::{CartId, CustomerId, OrderId, VariantId};
use std::sync::Arc;

use contracts::clients::{
    ClientError,
    cart::{CartLine, CartSnapshot, OrderedUnits},
    catalog::{CatalogClient, VariantInfo},
    pricing::{PriceQuote, PricingClient, QuoteLine, QuoteRequest, Refused},
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
mod promotions;

/// A cart with its lines, priced.
#[derive(Debug, Clone)]
pub struct CartView {
    /// The cart.
    pub cart: Cart,
    /// Its lines.
    pub items: Vec<Item>,
    /// Its totals and the promotions that apply now (no shipping or tax:
    /// the destination is not known yet).
    pub quote: PriceQuote,
}

/// The cart service.
pub struct CartService {
    db: Db,
    cfg: CartConfig,
    catalog: Arc<dyn CatalogClient>,
    pricing: Arc<dyn PricingClient>,
}

impl std::fmt::Debug for CartService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CartService").finish_non_exhaustive()
    }
}

impl CartService {
    /// The service over a migrated database, reading the catalog through
    /// `catalog` and pricing carts through `pricing`.
    pub fn new(
        db: Db,
        cfg: CartConfig,
        catalog: Arc<dyn CatalogClient>,
        pricing: Arc<dyn PricingClient>,
    ) -> Self {
        Self {
            db,
            cfg,
            catalog,
            pricing,
        }
    }

    async fn view(&self, cart: Cart) -> Result<CartView> {
        let items = store::items(self.db.pool(), cart.id).await?;
        let quote = self.price(&cart, &items).await?;
        Ok(CartView { cart, items, quote })
    }

    /// What pricing is asked for this cart, with `code`.
    fn quote_request(cart: &Cart, items: &[Item], code: Option<&str>) -> QuoteRequest {
        QuoteRequest {
            currency: cart.currency.clone(),
            lines: items
                .iter()
                .map(|i| QuoteLine {
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
            code: code.map(str::to_owned),
            customer_key: cart.customer_id.map(|c| c.to_string()),
            ..QuoteRequest::default()
        }
    }

    async fn ask_pricing(&self, request: &QuoteRequest) -> Result<Result<PriceQuote, Refused>> {
        self.pricing
            .quote(request)
            .await
            .map_err(|ClientError::Unavailable { detail, .. }| {
                CartError::PricingUnavailable(detail)
            })
    }

    /// The cart's totals now (no shipping or tax).
    async fn price(&self, cart: &Cart, items: &[Item]) -> Result<PriceQuote> {
        if items.is_empty() {
            return Ok(empty_quote());
        }
        let request = Self::quote_request(cart, items, cart.promotion_code.as_deref());
        self.quote_without_stale_code(request).await
    }

    /// The quote of `request`. A code that no longer applies (expired, used
    /// up) is left out of it: it stays on the cart, and placing the order
    /// says why it cannot apply.
    async fn quote_without_stale_code(&self, request: QuoteRequest) -> Result<PriceQuote> {
        let refused = match self.ask_pricing(&request).await? {
            Ok(quote) => return Ok(quote),
            Err(refused @ Refused::ShippingOption) => refused,
            Err(Refused::Code { .. }) => {
                let without = QuoteRequest {
                    code: None,
                    ..request
                };
                match self.ask_pricing(&without).await? {
                    Ok(quote) => return Ok(quote),
                    Err(refused) => refused,
                }
            }
        };
        // The cart never chooses an option, and without a code nothing
        // else can be refused.
        Err(CartError::Unexpected(anyhow::anyhow!(
            "pricing refused a cart it should price: {refused:?}"
        )))
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

/// The totals of a cart without lines.
fn empty_quote() -> PriceQuote {
    PriceQuote {
        lines: Vec::new(),
        subtotal: 0,
        discount_total: 0,
        shipping_total: 0,
        tax_total: 0,
        total: 0,
        promotions: Vec::new(),
        shipping_option: None,
        shipping_options: Vec::new(),
    }
}
