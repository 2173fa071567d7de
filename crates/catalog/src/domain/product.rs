//! Products and variants: what makes one valid.

use std::collections::{BTreeMap, HashSet};

use platform::{FieldError, money::is_currency};
use uuid::Uuid;

use super::slug;

/// Where a product is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Being prepared; only admins see it.
    Draft,
    /// On sale.
    Published,
    /// Withdrawn (what DELETE does); only admins see it.
    Archived,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }

    /// Parses the wire name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "draft" => Some(Self::Draft),
            "published" => Some(Self::Published),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// A product as an admin submits it (create, or the result of a patch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInput {
    /// Display name.
    pub name: String,
    /// URL slug, unique.
    pub slug: String,
    /// Description, up to 10,000 characters.
    pub description: String,
    pub status: Status,
    /// Categories it is listed in.
    pub category_ids: Vec<uuid::Uuid>,
    /// Image URLs.
    pub images: Vec<String>,
    /// Free attributes (material, brand, weight...): any JSON values.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// At least one.
    pub variants: Vec<VariantInput>,
}

/// A variant as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantInput {
    /// Stock-keeping unit, unique across products.
    pub sku: String,
    /// E.g. "Red / M".
    pub title: String,
    /// Option name -> value, e.g. {"color": "red", "size": "M"}.
    pub options: BTreeMap<String, String>,
    /// Price in minor units.
    pub price: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Units on hand to start with (creation only).
    pub initial_stock: i64,
}

/// Limits, stated once.
pub const NAME_MAX: usize = 200;
/// Longest description.
pub const DESCRIPTION_MAX: usize = 10_000;
/// Most variants per product.
pub const VARIANTS_MAX: usize = 100;
/// Most images per product.
pub const IMAGES_MAX: usize = 20;
/// Most attributes or options.
pub const ENTRIES_MAX: usize = 50;

/// Checks everything that does not need the database (category existence
/// and SKU uniqueness across products are the store's job).
pub fn validate(input: &ProductInput) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut err = |field: String, message: String| errors.push(FieldError::new(field, message));
    check_text(&mut err, "name", &input.name, NAME_MAX, true);
    if let Err(e) = slug::check(&input.slug) {
        err("slug".into(), e);
    }
    check_text(
        &mut err,
        "description",
        &input.description,
        DESCRIPTION_MAX,
        false,
    );
    if input.images.len() > IMAGES_MAX {
        err("images".into(), format!("at most {IMAGES_MAX} images"));
    }
    for (i, url) in input.images.iter().enumerate() {
        // A path on the shop's own host (the demo pictures) is a URL
        // reference too; `//host` would be another host's.
        let own_path = url.starts_with('/') && !url.starts_with("//") && url.len() > 1;
        if !(url.starts_with("https://") || url.starts_with("http://") || own_path)
            || url.chars().count() > 2000
            || url.contains(char::is_whitespace)
        {
            err(
                format!("images.{i}"),
                "must be an http(s) URL or a path of this shop, of at most 2000 characters".into(),
            );
        }
    }
    if input.attributes.len() > ENTRIES_MAX {
        err(
            "attributes".into(),
            format!("at most {ENTRIES_MAX} entries"),
        );
    }
    for (key, value) in &input.attributes {
        if key.is_empty() || key.chars().count() > 100 || value.to_string().len() > 2000 {
            err(
                format!("attributes.{key}"),
                "keys are 1 to 100 characters, values at most 2000 as JSON".into(),
            );
        }
    }
    if input.variants.is_empty() {
        err(
            "variants".into(),
            "a product needs at least one variant".into(),
        );
    }
    if input.variants.len() > VARIANTS_MAX {
        err(
            "variants".into(),
            format!("at most {VARIANTS_MAX} variants"),
        );
    }
    let mut skus = HashSet::new();
    let currency = input.variants.first().map(|v| v.currency.as_str());
    for (i, v) in input.variants.iter().enumerate() {
        let at = |field: &str| format!("variants.{i}.{field}");
        let sku_ok = (1..=64).contains(&v.sku.len())
            && v.sku
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !sku_ok {
            err(
                at("sku"),
                "must be 1 to 64 characters of A-Z, a-z, 0-9, -, _ and .".into(),
            );
        } else if !skus.insert(v.sku.as_str()) {
            err(at("sku"), "appears twice in this product".into());
        }
        check_text(&mut err, &at("title"), &v.title, NAME_MAX, true);
        check_map(&mut err, &at("options"), &v.options);
        if v.price <= 0 {
            err(
                at("price.amount"),
                "must be a positive number of minor units".into(),
            );
        }
        if !is_currency(&v.currency) {
            err(
                at("price.currency"),
                "must be an ISO 4217 code such as USD".into(),
            );
        } else if Some(v.currency.as_str()) != currency {
            err(
                at("price.currency"),
                "every variant of a product must use one currency".into(),
            );
        }
        if !(0..=1_000_000_000).contains(&v.initial_stock) {
            err(at("stock"), "must be between 0 and 1,000,000,000".into());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_text(
    err: &mut impl FnMut(String, String),
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) {
    if required && platform::http::schema::is_blank(value) {
        err(field.into(), "is required".into());
    } else if value.chars().count() > max {
        err(field.into(), format!("must be at most {max} characters"));
    }
}

fn check_map(err: &mut impl FnMut(String, String), field: &str, map: &BTreeMap<String, String>) {
    if map.len() > ENTRIES_MAX {
        err(field.into(), format!("at most {ENTRIES_MAX} entries"));
    }
    for (key, value) in map {
        if key.is_empty() || key.chars().count() > 100 || value.chars().count() > 500 {
            err(
                format!("{field}.{key}"),
                "keys are 1 to 100 characters, values at most 500".into(),
            );
        }
    }
}

/// The lowest variant price: what the list filters and sorts by.
pub fn min_price(variants: &[VariantInput]) -> i64 {
    variants.iter().map(|v| v.price).min().unwrap_or(0)
}

/// A variant of a product, with its available stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Its id: what carts and orders hold.
    pub id: Uuid,
    /// Unique in the catalog; stock is kept per SKU.
    pub sku: String,
    /// What tells it apart to a shopper, e.g. `Large / Blue`.
    pub title: String,
    /// The option values that make it, e.g. `{"size": "L"}`.
    pub options: BTreeMap<String, String>,
    /// The price of one unit, in minor units of the product's currency.
    pub price: i64,
    /// On hand minus reserved, never below 0.
    pub available: i64,
}

/// A product, whole: its variants, categories and public face.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Its id.
    pub id: Uuid,
    /// Its URL name, unique in the catalog.
    pub slug: String,
    /// Shown to shoppers.
    pub name: String,
    /// Plain text for the product page.
    pub description: String,
    /// Only published products are public.
    pub status: Status,
    /// The categories it is listed under.
    pub category_ids: Vec<Uuid>,
    /// Image URLs, in display order.
    pub images: Vec<String>,
    /// Free-form attributes shoppers can filter by.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Currency of every price.
    pub currency: String,
    /// Lowest variant price (what lists sort by).
    pub min_price: i64,
    /// Variants, in their order.
    pub variants: Vec<Variant>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProductInput {
        ProductInput {
            name: "Linen shirt".into(),
            slug: "linen-shirt".into(),
            description: "Light.".into(),
            status: Status::Published,
            category_ids: vec![],
            images: vec!["https://img.example.com/1.jpg".into()],
            attributes: BTreeMap::from([("material".into(), serde_json::json!("linen"))]),
            variants: vec![VariantInput {
                sku: "LS-M".into(),
                title: "M".into(),
                options: BTreeMap::from([("size".into(), "M".into())]),
                price: 4900,
                currency: "EUR".into(),
                initial_stock: 3,
            }],
        }
    }

    fn fields(result: Result<(), Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_complete_product_is_valid() {
        assert!(validate(&input()).is_ok());
    }

    #[test]
    fn a_product_needs_a_variant_with_a_positive_price_in_a_known_currency() {
        let mut p = input();
        p.variants.clear();
        assert_eq!(fields(validate(&p)), ["variants"]);
        let mut p = input();
        p.variants[0].price = 0;
        p.variants[0].currency = "EURO".into();
        assert_eq!(
            fields(validate(&p)),
            ["variants.0.price.amount", "variants.0.price.currency"]
        );
    }

    #[test]
    fn skus_are_unique_within_a_product_and_currencies_agree() {
        let mut p = input();
        let mut second = p.variants[0].clone();
        second.currency = "USD".into();
        p.variants.push(second);
        assert_eq!(
            fields(validate(&p)),
            ["variants.1.sku", "variants.1.price.currency"]
        );
    }

    #[test]
    fn the_lowest_price_is_the_products_price() {
        let mut p = input();
        let mut cheaper = p.variants[0].clone();
        cheaper.sku = "LS-S".into();
        cheaper.price = 3900;
        p.variants.push(cheaper);
        assert_eq!(min_price(&p.variants), 3900);
    }
}
