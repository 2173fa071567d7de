//! SQL of the cart service: the `cart` and `cart_item` tables.

use platform::db::uuid_column as id;
use sqlx::{Row as _, any::AnyRow};
use uuid::Uuid;

pub use platform::db::Exec;

/// A cart as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub id: Uuid,
    /// Owner, or None for a guest cart.
    pub customer_id: Option<Uuid>,
    /// ISO 4217 code of every line.
    pub currency: String,
    /// The promotion code applied, upper-cased.
    pub promotion_code: Option<String>,
    /// Unix ms.
    pub updated_at: i64,
}

/// A line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: Uuid,
    pub variant_id: Uuid,
    pub sku: String,
    /// Product name at the time of adding.
    pub product_name: String,
    /// The variant's title when the line was added.
    pub variant_title: String,
    pub quantity: i64,
    /// Minor units.
    pub unit_price: i64,
}

fn cart(row: &AnyRow) -> Result<Cart, sqlx::Error> {
    Ok(Cart {
        id: id(row, "cart_id")?,
        // A stored owner that is not a UUID is corruption, never a guest cart.
        customer_id: platform::db::optional_uuid_column(row, "cart.customer_id")?,
        currency: row.try_get("currency")?,
        promotion_code: row.try_get("promotion_code")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The cart with this id.
pub async fn find<'c>(ex: impl Exec<'c>, cart_id: Uuid) -> Result<Option<Cart>, sqlx::Error> {
    let row = sqlx::query(
        "select cart_id, customer_id, currency, promotion_code, updated_at from cart where cart_id = $1",
    )
    .bind(cart_id.to_string())
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(cart).transpose()
}

/// The customer's active cart.
pub async fn find_by_customer<'c>(
    ex: impl Exec<'c>,
    customer: Uuid,
) -> Result<Option<Cart>, sqlx::Error> {
    let row = sqlx::query(
        "select cart_id, customer_id, currency, promotion_code, updated_at from cart where customer_id = $1",
    )
    .bind(customer.to_string())
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(cart).transpose()
}

/// Name of the one-cart-per-customer index.
pub const CUSTOMER_KEY: &str = "cart_customer_key";

/// Inserts a cart.
pub async fn insert<'c>(ex: impl Exec<'c>, c: &Cart) -> Result<(), sqlx::Error> {
    sqlx::query("insert into cart (cart_id, customer_id, currency, created_at, updated_at) values ($1, $2, $3, $4, $4)")
        .bind(c.id.to_string())
        .bind(c.customer_id.map(|c| c.to_string()))
        .bind(&c.currency)
        .bind(c.updated_at)
        .execute(ex)
        .await?;
    Ok(())
}

/// Takes the cart for this transaction and marks it used now (idle carts
/// expire); false when there is no such cart.
///
/// Every change to a cart's lines starts here. The row lock it takes on
/// PostgreSQL queues concurrent writers of one cart behind each other, so
/// the line count and quantities a change reads cannot move under it (on
/// SQLite the write transaction already excludes every other writer).
pub async fn lock(
    tx: &mut sqlx::AnyConnection,
    cart_id: Uuid,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update cart set updated_at = $2 where cart_id = $1")
        .bind(cart_id.to_string())
        .bind(now)
        .execute(tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets (or with None clears) the cart's promotion code; false when there
/// is no such cart.
pub async fn set_code<'c>(
    ex: impl Exec<'c>,
    cart_id: Uuid,
    code: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("update cart set promotion_code = $2, updated_at = $3 where cart_id = $1")
            .bind(cart_id.to_string())
            .bind(code.map(str::to_owned))
            .bind(now)
            .execute(ex)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a guest cart and returns its lines (in the order added); None
/// when there is no such guest cart (any more).
pub async fn take_guest(
    tx: &mut sqlx::AnyConnection,
    cart_id: Uuid,
) -> Result<Option<Vec<Item>>, sqlx::Error> {
    let rows = sqlx::query(
        "delete from cart_item where cart_id = $1 and cart_id in \
             (select cart_id from cart where cart_id = $1 and customer_id is null) \
         returning item_id, variant_id, sku, product_name, variant_title, quantity, unit_price, created_at",
    )
    .bind(cart_id.to_string())
    .fetch_all(&mut *tx)
    .await?;
    let gone = sqlx::query("delete from cart where cart_id = $1 and customer_id is null")
        .bind(cart_id.to_string())
        .execute(&mut *tx)
        .await?;
    if gone.rows_affected() == 0 {
        return Ok(None);
    }
    let mut lines = rows
        .iter()
        .map(|r| Ok((r.try_get::<i64, _>("created_at")?, item(r)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    lines.sort_by_key(|(created, line)| (*created, line.id));
    Ok(Some(lines.into_iter().map(|(_, line)| line).collect()))
}

fn item(r: &AnyRow) -> Result<Item, sqlx::Error> {
    Ok(Item {
        id: id(r, "item_id")?,
        variant_id: id(r, "variant_id")?,
        sku: r.try_get("sku")?,
        product_name: r.try_get("product_name")?,
        variant_title: r.try_get("variant_title")?,
        quantity: r.try_get("quantity")?,
        unit_price: r.try_get("unit_price")?,
    })
}

/// The cart's lines, in the order added.
pub async fn items<'c>(ex: impl Exec<'c>, cart_id: Uuid) -> Result<Vec<Item>, sqlx::Error> {
    let rows = sqlx::query(
        "select item_id, variant_id, sku, product_name, variant_title, quantity, unit_price \
         from cart_item where cart_id = $1 order by created_at, item_id",
    )
    .bind(cart_id.to_string())
    .fetch_all(ex)
    .await?;
    rows.iter().map(item).collect()
}

/// Adds `item.quantity` units of its variant to the cart in one statement:
/// a new line when the cart has fewer than `max_lines`, else the existing
/// line grows, provided it ends with at most `max_quantity` units (the
/// price snapshot is renewed). Returns the line's new quantity, or None when
/// a limit refused it (nothing changed). Call under [`lock`].
pub async fn add_units(
    tx: &mut sqlx::AnyConnection,
    cart_id: Uuid,
    item: &Item,
    max_quantity: i64,
    max_lines: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = bind_line(
        sqlx::query(
            "insert into cart_item (item_id, cart_id, variant_id, sku, product_name, variant_title, quantity, unit_price, created_at) \
             select $1, $2, $3, $4, $5, $6, $7, $8, $9 \
             where $7 <= $10 and ((select count(*) from cart_item where cart_id = $2) < $11 \
                 or exists (select 1 from cart_item where cart_id = $2 and variant_id = $3)) \
             on conflict (cart_id, variant_id) do update set \
                 quantity = cart_item.quantity + excluded.quantity, unit_price = excluded.unit_price, \
                 sku = excluded.sku, product_name = excluded.product_name, variant_title = excluded.variant_title \
             where cart_item.quantity + excluded.quantity <= $10 \
             returning quantity",
        ),
        cart_id,
        item,
        now,
    )
    .bind(max_quantity)
    .bind(max_lines)
    .fetch_optional(tx)
    .await?;
    row.map(|r| r.try_get("quantity")).transpose()
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds a new line's columns as `$1`..`$9`, in the order both inserts
/// name them.
fn bind_line<'q>(query: Query<'q>, cart_id: Uuid, item: &Item, now: i64) -> Query<'q> {
    query
        .bind(item.id.to_string())
        .bind(cart_id.to_string())
        .bind(item.variant_id.to_string())
        .bind(item.sku.clone())
        .bind(item.product_name.clone())
        .bind(item.variant_title.clone())
        .bind(item.quantity)
        .bind(item.unit_price)
        .bind(now)
}

/// Units of the variant in the cart now (0 without a line).
pub async fn quantity_of<'c>(
    ex: impl Exec<'c>,
    cart_id: Uuid,
    variant_id: Uuid,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("select quantity from cart_item where cart_id = $1 and variant_id = $2")
        .bind(cart_id.to_string())
        .bind(variant_id.to_string())
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| r.try_get("quantity")).transpose()?.unwrap_or(0))
}

/// Inserts a line.
pub async fn insert_item<'c>(
    ex: impl Exec<'c>,
    cart_id: Uuid,
    item: &Item,
    now: i64,
) -> Result<(), sqlx::Error> {
    bind_line(
        sqlx::query(
            "insert into cart_item (item_id, cart_id, variant_id, sku, product_name, variant_title, quantity, unit_price, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        ),
        cart_id,
        item,
        now,
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// Sets a line's quantity and price snapshot; false if the cart has no
/// such line.
pub async fn update_item<'c>(
    ex: impl Exec<'c>,
    cart_id: Uuid,
    item: &Item,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update cart_item set quantity = $3, unit_price = $4, product_name = $5, variant_title = $6 \
         where cart_id = $1 and item_id = $2",
    )
    .bind(cart_id.to_string())
    .bind(item.id.to_string())
    .bind(item.quantity)
    .bind(item.unit_price)
    .bind(&item.product_name)
    .bind(&item.variant_title)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a line; false if the cart has no such line.
pub async fn delete_item<'c>(
    ex: impl Exec<'c>,
    cart_id: Uuid,
    item_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from cart_item where cart_id = $1 and item_id = $2")
        .bind(cart_id.to_string())
        .bind(item_id.to_string())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes `quantity` units of a variant from a cart (the line goes when
/// nothing is left).
pub async fn take(
    tx: &mut sqlx::AnyConnection,
    cart_id: Uuid,
    variant_id: Uuid,
    quantity: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update cart_item set quantity = quantity - $3 where cart_id = $1 and variant_id = $2",
    )
    .bind(cart_id.to_string())
    .bind(variant_id.to_string())
    .bind(quantity)
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from cart_item where cart_id = $1 and variant_id = $2 and quantity <= 0")
        .bind(cart_id.to_string())
        .bind(variant_id.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Sets the unit price of every line of a variant; returns how many lines.
pub async fn reprice(
    tx: &mut sqlx::AnyConnection,
    variant_id: uuid::Uuid,
    currency: &str,
    price: i64,
) -> Result<u64, sqlx::Error> {
    // Only lines in a cart of the same currency: a price in another
    // currency cannot be compared, and such a line fails at checkout anyway.
    let done = sqlx::query(
        "update cart_item set unit_price = $2 where variant_id = $1 and unit_price <> $2 \
         and cart_id in (select cart_id from cart where currency = $3)",
    )
    .bind(variant_id.to_string())
    .bind(price)
    .bind(currency)
    .execute(tx)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes carts untouched since `before`; returns how many.
pub async fn delete_idle(tx: &mut sqlx::AnyConnection, before: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "delete from cart_item where cart_id in (select cart_id from cart where updated_at < $1)",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("delete from cart where updated_at < $1")
        .bind(before)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected())
}
