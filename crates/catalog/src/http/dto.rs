//! Request and response bodies of the catalog API.

use std::collections::BTreeMap;

use platform::{money::Money, time::from_millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::store::{
    categories::Category,
    inventory::{Adjustment, Levels},
    products::Product,
};

/// A category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    /// Id.
    pub id: Uuid,
    /// URL slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Parent, or null for a top-level category.
    pub parent_id: Option<Uuid>,
}

impl From<Category> for CategoryOut {
    fn from(c: Category) -> Self {
        Self {
            id: c.id,
            slug: c.slug,
            name: c.name,
            parent_id: c.parent_id,
        }
    }
}

/// Every category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryList {
    /// All categories, by name.
    pub items: Vec<CategoryOut>,
    /// Always null: the list is whole.
    pub next_cursor: Option<String>,
}

/// `POST /categories`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryIn {
    /// URL slug (a-z, 0-9, -), unique.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Parent category.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

/// `PATCH /categories/{id}`; `parent_id: null` makes it top-level.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    /// New slug.
    #[serde(default)]
    pub slug: Option<String>,
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New parent.
    #[serde(default, deserialize_with = "platform::http::extract::present")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
}

/// A variant as submitted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantIn {
    /// Stock-keeping unit, unique across products.
    pub sku: String,
    /// E.g. "Red / M".
    pub title: String,
    /// Option name -> value.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Price.
    pub price: Money,
    /// Units on hand to start with (new SKUs only; later use adjustments).
    #[serde(default)]
    pub stock: Option<i64>,
}

/// `POST /products`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductIn {
    /// URL slug, unique.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// published (default), draft or archived.
    #[serde(default)]
    pub status: Option<String>,
    /// Categories.
    #[serde(default)]
    pub category_ids: Vec<Uuid>,
    /// Image URLs.
    #[serde(default)]
    pub images: Vec<String>,
    /// Free attributes: any JSON values.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// At least one.
    pub variants: Vec<VariantIn>,
}

/// `PATCH /products/{id}`: every field optional; `variants` replaces the
/// list (variants keep their ids by SKU).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    /// New slug.
    #[serde(default)]
    pub slug: Option<String>,
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// New status.
    #[serde(default)]
    pub status: Option<String>,
    /// New categories.
    #[serde(default)]
    pub category_ids: Option<Vec<Uuid>>,
    /// New images.
    #[serde(default)]
    pub images: Option<Vec<String>>,
    /// New attributes.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<BTreeMap<String, serde_json::Value>>,
    /// New variants.
    #[serde(default)]
    pub variants: Option<Vec<VariantIn>>,
}

/// A variant as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariantOut {
    /// Id (what carts refer to).
    pub id: Uuid,
    /// SKU.
    pub sku: String,
    /// Title.
    pub title: String,
    /// Options.
    pub options: BTreeMap<String, String>,
    /// Price.
    pub price: Money,
    /// On hand minus reserved, never below 0.
    pub available: i64,
}

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOut {
    /// Id.
    pub id: Uuid,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// draft | published | archived.
    pub status: &'static str,
    /// Categories.
    pub category_ids: Vec<Uuid>,
    /// Image URLs.
    pub images: Vec<String>,
    /// Free attributes.
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Variants.
    pub variants: Vec<VariantOut>,
    /// The lowest variant price.
    pub price_from: Money,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Product> for ProductOut {
    fn from(p: Product) -> Self {
        let currency = p.currency;
        Self {
            id: p.id,
            slug: p.slug,
            name: p.name,
            description: p.description,
            status: p.status.as_str(),
            category_ids: p.category_ids,
            images: p.images,
            attributes: p.attributes,
            variants: p
                .variants
                .into_iter()
                .map(|v| VariantOut {
                    id: v.id,
                    sku: v.sku,
                    title: v.title,
                    options: v.options,
                    price: Money::new(v.price, &currency),
                    available: v.available,
                })
                .collect(),
            price_from: Money::new(p.min_price, &currency),
            created_at: from_millis(p.created_at),
            updated_at: from_millis(p.updated_at),
        }
    }
}

/// One page of products.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    /// Products.
    pub items: Vec<ProductOut>,
    /// Cursor of the next page, or null.
    pub next_cursor: Option<String>,
}

/// `GET /products` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ProductQuery {
    /// Search the name and description.
    pub q: Option<String>,
    /// Category id or slug; sub-categories included.
    pub category: Option<String>,
    /// Lowest price, minor units, inclusive.
    pub min_price: Option<String>,
    /// Highest price, minor units, inclusive.
    pub max_price: Option<String>,
    /// `true`: only products with a variant in stock.
    pub in_stock: Option<String>,
    /// relevance (only with q), price, -price, name, -created_at (the default).
    pub sort: Option<String>,
    /// 1..=100, default 20.
    pub limit: Option<String>,
    /// From the previous page.
    pub cursor: Option<String>,
}

/// Stock of a SKU.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryOut {
    /// SKU.
    pub sku: String,
    /// Units in the warehouse.
    pub on_hand: i64,
    /// Units held for unpaid orders.
    pub reserved: i64,
    /// On hand minus reserved.
    pub available: i64,
    /// The latest adjustments (the ledger), newest first.
    pub recent_adjustments: Vec<AdjustmentOut>,
}

/// One ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentOut {
    /// Change to on hand.
    pub delta: i64,
    /// Why.
    pub reason: String,
    /// Who: a user id, or `order:<id>` for sales.
    pub actor: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl InventoryOut {
    /// From stored levels and ledger entries.
    pub fn new(sku: &str, levels: Levels, ledger: Vec<Adjustment>) -> Self {
        Self {
            sku: sku.to_owned(),
            on_hand: levels.on_hand,
            reserved: levels.reserved,
            available: crate::domain::stock::available(levels.on_hand, levels.reserved),
            recent_adjustments: ledger
                .into_iter()
                .map(|a| AdjustmentOut {
                    delta: a.delta,
                    reason: a.reason,
                    actor: a.actor,
                    at: from_millis(a.created_at),
                })
                .collect(),
        }
    }
}

/// `POST /inventory/{sku}/adjustments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentIn {
    /// Change to on-hand units (negative for shrinkage).
    pub delta: i64,
    /// Why, for the ledger.
    pub reason: String,
}

/// A purchasable variant (what carts read).
#[derive(Debug, Serialize, ToSchema)]
pub struct VariantInfoOut {
    /// Variant id.
    pub variant_id: Uuid,
    /// Its product.
    pub product_id: Uuid,
    /// SKU.
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

impl From<contracts::clients::catalog::VariantInfo> for VariantInfoOut {
    fn from(v: contracts::clients::catalog::VariantInfo) -> Self {
        Self {
            variant_id: v.variant_id,
            product_id: v.product_id,
            sku: v.sku,
            product_name: v.product_name,
            variant_title: v.variant_title,
            price: v.price,
            currency: v.currency,
            available: v.available,
        }
    }
}
