//! The `product`, `variant` and `product_category` tables; listing and
//! search in [`search`].

use std::collections::HashMap;

use platform::db::Backend;
use sqlx::{Row as _, any::AnyRow};
use uuid::Uuid;

use super::{Exec, Param, Params, uuid};
mod search;
pub use search::{After, Filter, Sort, Statuses, list};

use crate::domain::{
    product::{Product, ProductInput, Status, Variant, min_price},
    stock::available,
};

/// Unique constraint names, for matching violations.
pub const SLUG_KEY: &str = "product_slug_key";
/// Unique SKU constraint.
pub const SKU_KEY: &str = "variant_sku_key";

const PRODUCT_COLUMNS: &str = "p.product_id, p.slug, p.name, p.description, p.status, p.images, \
                               p.attributes, p.currency, p.min_price, p.created_at, p.updated_at";

/// Inserts a product with its variants, categories, starting stock and
/// search entry. `variant_ids` gives the id of each variant in order.
pub async fn insert(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    id: Uuid,
    input: &ProductInput,
    variant_ids: &[Uuid],
    now: i64,
) -> Result<(), sqlx::Error> {
    write_row(
        tx,
        "insert into product (product_id, slug, name, description, status, images, attributes, currency, \
         min_price, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        id,
        input,
        now,
    )
    .await?;
    write_children(tx, backend, id, input, variant_ids, now).await
}

/// Rewrites a product, its variants (kept by SKU, so carts referring to a
/// variant id stay valid) and categories. New SKUs get stock rows at 0.
pub async fn update(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    id: Uuid,
    input: &ProductInput,
    variant_ids: &[Uuid],
    now: i64,
) -> Result<(), sqlx::Error> {
    write_row(
        tx,
        "update product set slug = $2, name = $3, description = $4, status = $5, images = $6, attributes = $7, \
         currency = $8, min_price = $9, updated_at = $10 where product_id = $1",
        id,
        input,
        now,
    )
    .await?;
    sqlx::query("delete from product_category where product_id = $1")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from variant where product_id = $1")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    write_children(tx, backend, id, input, variant_ids, now).await
}

/// Runs the insert or the update of a product row: both bind the same ten
/// values in the same order.
async fn write_row(
    tx: &mut sqlx::AnyConnection,
    sql: &'static str,
    id: Uuid,
    input: &ProductInput,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(sql)
        .bind(id.to_string())
        .bind(&input.slug)
        .bind(&input.name)
        .bind(&input.description)
        .bind(input.status.as_str())
        .bind(json(&input.images))
        .bind(json(&input.attributes))
        .bind(currency(input))
        .bind(min_price(&input.variants))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn write_children(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    id: Uuid,
    input: &ProductInput,
    variant_ids: &[Uuid],
    now: i64,
) -> Result<(), sqlx::Error> {
    for category in &input.category_ids {
        sqlx::query("insert into product_category (product_id, category_id) values ($1, $2)")
            .bind(id.to_string())
            .bind(category.to_string())
            .execute(&mut *tx)
            .await?;
    }
    for (position, (variant, variant_id)) in input.variants.iter().zip(variant_ids).enumerate() {
        sqlx::query(
            "insert into variant (variant_id, product_id, sku, title, options, price, position) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(variant_id.to_string())
        .bind(id.to_string())
        .bind(&variant.sku)
        .bind(&variant.title)
        .bind(json(&variant.options))
        .bind(variant.price)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        // A SKU keeps its stock across product edits; a new one starts here.
        sqlx::query(
            "insert into stock (sku, on_hand, reserved, updated_at) values ($1, $2, 0, $3) \
             on conflict (sku) do nothing",
        )
        .bind(&variant.sku)
        .bind(variant.initial_stock)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    if backend == Backend::Sqlite {
        sqlx::query("delete from product_search where product_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into product_search (product_id, name, description) values ($1, $2, $3)",
        )
        .bind(id.to_string())
        .bind(&input.name)
        .bind(&input.description)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// How many products exist, in any status.
pub async fn count<'c>(ex: impl Exec<'c>) -> Result<i64, sqlx::Error> {
    sqlx::query("select count(*) as n from product")
        .fetch_one(ex)
        .await?
        .try_get("n")
}

/// Sets the status only (archiving).
pub async fn set_status<'c>(
    ex: impl Exec<'c>,
    id: Uuid,
    status: Status,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update product set status = $2, updated_at = $3 where product_id = $1")
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The product with this id or slug, whole.
pub async fn find(
    ex: &mut sqlx::AnyConnection,
    id_or_slug: &str,
) -> Result<Option<Product>, sqlx::Error> {
    let column = if crate::domain::slug::looks_like_id(id_or_slug) {
        "product_id"
    } else {
        "slug"
    };
    let sql = format!("select {PRODUCT_COLUMNS} from product p where p.{column} = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id_or_slug)
        .fetch_optional(&mut *ex)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut products = vec![from_row(&row)?];
    fill(ex, &mut products).await?;
    Ok(products.pop())
}

/// The variant's product id, SKU, title, price and currency, for carts.
pub async fn variant<'c>(
    ex: impl Exec<'c>,
    variant_id: Uuid,
) -> Result<Option<AnyRow>, sqlx::Error> {
    sqlx::query(
        "select v.variant_id, v.sku, v.title, v.price, p.product_id, p.name, p.currency, p.status, \
                s.on_hand, s.reserved \
         from variant v join product p on p.product_id = v.product_id left join stock s on s.sku = v.sku \
         where v.variant_id = $1",
    )
    .bind(variant_id.to_string())
    .fetch_optional(ex)
    .await
}

fn from_row(row: &AnyRow) -> Result<Product, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(Product {
        id: uuid(row, "product_id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        status: Status::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("status {status}").into()))?,
        category_ids: Vec::new(),
        images: parse_json(row, "images")?,
        attributes: parse_json(row, "attributes")?,
        currency: row.try_get("currency")?,
        min_price: row.try_get("min_price")?,
        variants: Vec::new(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Loads variants (with stock) and categories for a page in two queries.
async fn fill(ex: &mut sqlx::AnyConnection, products: &mut [Product]) -> Result<(), sqlx::Error> {
    if products.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = products.iter().map(|p| p.id.to_string()).collect();
    let mut params = Params::default();
    let list = params.list(ids.iter().map(String::as_str));
    let sql = format!(
        "select v.product_id, v.variant_id, v.sku, v.title, v.options, v.price, \
                coalesce(s.on_hand, 0) as on_hand, coalesce(s.reserved, 0) as reserved \
         from variant v left join stock s on s.sku = v.sku where v.product_id in ({list}) order by v.position"
    );
    let rows = params
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(&mut *ex)
        .await?;
    let index: HashMap<Uuid, usize> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    for row in &rows {
        let Some(&i) = index.get(&uuid(row, "product_id")?) else {
            continue;
        };
        products[i].variants.push(Variant {
            id: uuid(row, "variant_id")?,
            sku: row.try_get("sku")?,
            title: row.try_get("title")?,
            options: parse_json(row, "options")?,
            price: row.try_get("price")?,
            available: available(row.try_get("on_hand")?, row.try_get("reserved")?),
        });
    }
    let mut params = Params::default();
    let list = params.list(ids.iter().map(String::as_str));
    let sql = format!(
        "select product_id, category_id from product_category where product_id in ({list}) order by category_id"
    );
    let rows = params
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(&mut *ex)
        .await?;
    for row in &rows {
        if let Some(&i) = index.get(&uuid(row, "product_id")?) {
            products[i].category_ids.push(uuid(row, "category_id")?);
        }
    }
    Ok(())
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn parse_json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}

fn currency(input: &ProductInput) -> String {
    input
        .variants
        .first()
        .map(|v| v.currency.clone())
        .unwrap_or_default()
}
