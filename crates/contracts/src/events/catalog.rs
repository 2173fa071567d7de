//! Events of the catalog service.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Event;

/// `product.updated`: a product's prices or status changed (carts refresh
/// their snapshots; caches drop the product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductUpdated {
    /// The product.
    pub product_id: Uuid,
    /// draft | published | archived.
    pub status: String,
    /// Currency of the prices.
    pub currency: String,
    /// Every variant with its current price.
    pub variants: Vec<VariantPrice>,
}

/// A variant's price in a [`ProductUpdated`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantPrice {
    /// The variant whose price this is.
    pub variant_id: Uuid,
    /// The stock-keeping unit: unique in the catalog, 1 to 64 characters.
    pub sku: String,
    /// Minor units.
    pub price: i64,
}

impl Event for ProductUpdated {
    const TYPE: &'static str = "product.updated";
}
