//! What the cart needs to know about a variant.

mod http;
pub use http::HttpCatalog;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::ClientError;
use crate::ids::{ProductId, VariantId};

/// A purchasable variant with its current price and stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantInfo {
    /// The variant.
    pub variant_id: VariantId,
    /// Its product.
    pub product_id: ProductId,
    /// The stock-keeping unit: unique in the catalog, 1 to 64 characters.
    pub sku: String,
    /// Its product's name, as shoppers see it.
    pub product_name: String,
    /// What tells the variant apart, e.g. `Large / Blue`.
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
    fn variant(
        &self,
        variant_id: VariantId,
    ) -> BoxFuture<'_, Result<Option<VariantInfo>, ClientError>>;
}
