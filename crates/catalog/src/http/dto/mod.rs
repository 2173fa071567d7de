//! Request and response bodies of the catalog API.

use std::collections::BTreeMap;

use platform::{money::Money, time::from_millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{
    IntoParams, ToSchema,
    openapi::{
        Array, ArrayBuilder, ObjectBuilder, OneOfBuilder, Type,
        schema::{Object, SchemaType},
    },
};
use uuid::Uuid;

use platform::http::schema::nullable;

mod schemas;
use schemas::*;

use crate::domain::{
    product::{self, Product},
    stock,
};
use crate::store::{
    categories::Category,
    inventory::{Adjustment, Levels},
};

/// A category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    /// Its id, as its URLs carry it.
    pub id: Uuid,
    /// URL slug.
    pub slug: String,
    /// Shown to shoppers; 1 to 200 characters.
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
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    pub slug: String,
    /// Shown to shoppers; 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
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
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// New name.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
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
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    /// E.g. "Red / M".
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub title: String,
    /// Option name -> value.
    #[serde(default)]
    #[schema(schema_with = options)]
    pub options: BTreeMap<String, String>,
    /// The price of one unit, in minor units of its currency.
    #[schema(schema_with = platform::http::schema::price)]
    pub price: Money,
    /// Units on hand to start with (new SKUs only; later use adjustments).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
}

/// `POST /products`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductIn {
    /// URL slug, unique.
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    pub slug: String,
    /// Shown to shoppers; 1 to 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: String,
    /// Plain text for the product page.
    #[serde(default)]
    #[schema(max_length = 10_000)]
    pub description: String,
    /// published (default), draft or archived.
    #[serde(default)]
    #[schema(schema_with = nullable_status)]
    pub status: Option<String>,
    /// The categories it is listed under.
    #[serde(default)]
    pub category_ids: Vec<Uuid>,
    /// Image URLs.
    #[serde(default)]
    #[schema(schema_with = images)]
    pub images: Vec<String>,
    /// Free attributes: any JSON values.
    #[serde(default)]
    #[schema(schema_with = attributes)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// At least one.
    #[schema(min_items = 1, max_items = 100)]
    pub variants: Vec<VariantIn>,
}

/// `PATCH /products/{id}`: every field optional; `variants` replaces the
/// list (variants keep their ids by SKU).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    /// New slug.
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    pub slug: Option<String>,
    /// New name.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: Option<String>,
    /// New description.
    #[serde(default)]
    #[schema(max_length = 10_000)]
    pub description: Option<String>,
    /// New status.
    #[serde(default)]
    #[schema(schema_with = nullable_status)]
    pub status: Option<String>,
    /// New categories.
    #[serde(default)]
    pub category_ids: Option<Vec<Uuid>>,
    /// New images.
    #[serde(default)]
    #[schema(schema_with = nullable_images)]
    pub images: Option<Vec<String>>,
    /// New attributes.
    #[serde(default)]
    #[schema(schema_with = nullable_attributes)]
    pub attributes: Option<BTreeMap<String, serde_json::Value>>,
    /// New variants.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub variants: Option<Vec<VariantIn>>,
}

/// A variant as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariantOut {
    /// Id (what carts refer to).
    pub id: Uuid,
    /// The stock-keeping unit: unique in the catalog, 1 to 64 characters.
    pub sku: String,
    /// What tells the variant apart to a shopper, e.g. `Large / Blue`.
    pub title: String,
    /// The option values that make this variant, e.g. `{"size": "L"}`.
    pub options: BTreeMap<String, String>,
    /// The price of one unit, in minor units of its currency.
    pub price: Money,
    /// On hand minus reserved, never below 0.
    pub available: i64,
}

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOut {
    /// Its id, as its URLs carry it.
    pub id: Uuid,
    /// Its URL name: lower-case words joined by hyphens, unique.
    pub slug: String,
    /// Shown to shoppers; 1 to 200 characters.
    pub name: String,
    /// Plain text for the product page.
    pub description: String,
    /// draft | published | archived.
    pub status: &'static str,
    /// The categories it is listed under.
    pub category_ids: Vec<Uuid>,
    /// Image URLs.
    pub images: Vec<String>,
    /// Free attributes.
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Its variants, in display order, each with its stock.
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
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Search the name and description.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Category id or slug; sub-categories included.
    pub category: Option<String>,
    /// Lowest price, minor units, inclusive.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub min_price: Option<String>,
    /// Highest price, minor units, inclusive.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub max_price: Option<String>,
    /// `true`: only products with a variant in stock.
    #[param(value_type = Option<bool>)]
    pub in_stock: Option<String>,
    /// relevance (best match first; without q the default order), price,
    /// -price, name, -created_at (the default).
    #[param(schema_with = sort)]
    pub sort: Option<String>,
    /// 1..=100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// From the previous page.
    pub cursor: Option<String>,
    /// Admins only: `draft`, `archived` or `any` list those too
    /// (`published`, the default, is for everyone).
    #[param(schema_with = list_status)]
    pub status: Option<String>,
}

fn list_status() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["published", "draft", "archived", "any"]))
        .build()
}

/// Stock of a SKU.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryOut {
    /// The stock-keeping unit: unique in the catalog, 1 to 64 characters.
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

/// `GET /inventory` (admin).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InventoryQuery {
    /// Only SKUs with fewer units than this available (low stock).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub below: Option<String>,
    /// 1..=100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// From the previous page.
    pub cursor: Option<String>,
}

/// A SKU's levels in the inventory list.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockOut {
    /// The stock-keeping unit.
    pub sku: String,
    /// Its product.
    pub product_id: Uuid,
    /// The product's name.
    pub product_name: String,
    /// The variant's title.
    pub variant_title: String,
    /// Units in the warehouse.
    pub on_hand: i64,
    /// Units held for unpaid orders.
    pub reserved: i64,
    /// On hand minus reserved.
    pub available: i64,
}

/// A page of SKUs, in SKU order.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockPage {
    /// The SKUs.
    pub items: Vec<StockOut>,
    /// For the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// `POST /inventory/{sku}/adjustments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentIn {
    /// Change to on-hand units (negative for shrinkage).
    #[schema(schema_with = adjustment_delta)]
    pub delta: i64,
    /// Why, for the ledger.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub reason: String,
}

/// A purchasable variant (what carts read).
#[derive(Debug, Serialize, ToSchema)]
pub struct VariantInfoOut {
    /// The variant.
    pub variant_id: Uuid,
    /// Its product.
    pub product_id: Uuid,
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

impl From<contracts::clients::catalog::VariantInfo> for VariantInfoOut {
    fn from(v: contracts::clients::catalog::VariantInfo) -> Self {
        Self {
            variant_id: v.variant_id.uuid(),
            product_id: v.product_id.uuid(),
            sku: v.sku,
            product_name: v.product_name,
            variant_title: v.variant_title,
            price: v.price,
            currency: v.currency,
            available: v.available,
        }
    }
}

// JSON Schema of the fields whose rules are the catalog's own (see
// `domain::product`), for the OpenAPI document.
