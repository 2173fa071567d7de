//! What the cart needs to know about a variant.

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ClientError;

/// A purchasable variant with its current price and stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantInfo {
    /// Variant id.
    pub variant_id: Uuid,
    /// Its product.
    pub product_id: Uuid,
    /// The stock-keeping unit: unique in the catalog, 1 to 64 characters.
    pub sku: String,
    /// Product name.
    pub product_name: String,
    /// Variant title.
    pub variant_title: String,
    /// Price in minor units.
    pub price: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Units available now.
    pub available: i64,
}

/// Reads the catalog. Unknown and unpublished variants are `None`.
pub trait CatalogClient: Send + Sync + 'static {
    /// The variant, if it can be bought.
    fn variant(&self, variant_id: Uuid) -> BoxFuture<'_, Result<Option<VariantInfo>, ClientError>>;
}
