//! SQL of the pricing service: shipping options, tax rates, promotions and
//! the mirror of their uses.

use platform::db::{Params, uuid_column as id};
use sqlx::{Row as _, any::AnyRow};
use uuid::Uuid;

use crate::domain::{
    promotion::{Kind, Promotion, Uses},
    rules::{ShippingOption, TaxRate},
};

pub use platform::db::Exec;

/// Name of the one-rate-per-place constraint.
pub const RATE_PLACE_KEY: &str = "tax_rate_place_key";
/// Name of the unique code index.
pub const CODE_KEY: &str = "promotion_code_key";

fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

// ---- shipping options ----

const OPTION_COLUMNS: &str = "option_id, name, countries, currency, price, free_over, min_days, max_days, active, created_at";

fn option(row: &AnyRow) -> Result<ShippingOption, sqlx::Error> {
    let countries: String = row.try_get("countries")?;
    Ok(ShippingOption {
        id: id(row, "shipping_option.option_id")?,
        name: row.try_get("name")?,
        countries: serde_json::from_str(&countries).map_err(|e| sqlx::Error::ColumnDecode {
            index: "shipping_option.countries".into(),
            source: Box::new(e),
        })?,
        currency: row.try_get("currency")?,
        price: row.try_get("price")?,
        free_over: row.try_get("free_over")?,
        min_days: row.try_get("min_days")?,
        max_days: row.try_get("max_days")?,
        active: flag(row, "active")?,
        created_at: row.try_get("created_at")?,
    })
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds an option's id and fields as `$1`..`$9`, in the order both the
/// insert and the update name them.
fn bind_option<'q>(query: Query<'q>, o: &ShippingOption) -> Result<Query<'q>, sqlx::Error> {
    let countries =
        serde_json::to_string(&o.countries).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    Ok(query
        .bind(o.id.to_string())
        .bind(o.name.clone())
        .bind(countries)
        .bind(o.currency.clone())
        .bind(o.price)
        .bind(o.free_over)
        .bind(o.min_days)
        .bind(o.max_days)
        .bind(i64::from(o.active)))
}

/// Inserts a shipping option.
pub async fn insert_option<'c>(ex: impl Exec<'c>, o: &ShippingOption) -> Result<(), sqlx::Error> {
    bind_option(
        sqlx::query(
            "insert into shipping_option (option_id, name, countries, currency, price, free_over, min_days, max_days, active, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        ),
        o,
    )?
    .bind(o.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Replaces a shipping option's fields; false if there is none.
pub async fn update_option<'c>(
    ex: impl Exec<'c>,
    o: &ShippingOption,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = bind_option(
        sqlx::query(
            "update shipping_option set name = $2, countries = $3, currency = $4, price = $5, free_over = $6, \
             min_days = $7, max_days = $8, active = $9, updated_at = $10 where option_id = $1",
        ),
        o,
    )?
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a shipping option; false if there is none.
pub async fn delete_option<'c>(ex: impl Exec<'c>, option_id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from shipping_option where option_id = $1")
        .bind(option_id.to_string())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The shipping option with this id.
pub async fn find_option<'c>(
    ex: impl Exec<'c>,
    option_id: Uuid,
) -> Result<Option<ShippingOption>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {OPTION_COLUMNS} from shipping_option where option_id = $1"
    )))
    .bind(option_id.to_string())
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(option).transpose()
}

/// Every shipping option, or those in one currency, oldest first (the
/// country is matched by the caller: it is inside a JSON list).
pub async fn options<'c>(
    ex: impl Exec<'c>,
    currency: Option<&str>,
) -> Result<Vec<ShippingOption>, sqlx::Error> {
    let mut params = Params::default();
    let mut sql = format!("select {OPTION_COLUMNS} from shipping_option");
    if let Some(currency) = currency {
        sql += &format!(" where currency = {}", params.push(currency.to_owned()));
    }
    sql += " order by created_at, option_id";
    // Only placeholders and constant text were interpolated.
    let rows = params
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(ex)
        .await?;
    rows.iter().map(option).collect()
}

// ---- tax rates ----

const RATE_COLUMNS: &str = "rate_id, country, region, name, rate, applies_to_shipping";

fn rate(row: &AnyRow) -> Result<TaxRate, sqlx::Error> {
    let region: String = row.try_get("region")?;
    Ok(TaxRate {
        id: id(row, "tax_rate.rate_id")?,
        country: row.try_get("country")?,
        region: (!region.is_empty()).then_some(region),
        name: row.try_get("name")?,
        rate: row.try_get("rate")?,
        applies_to_shipping: flag(row, "applies_to_shipping")?,
    })
}

/// Binds a rate's id and fields as `$1`..`$6` (a country-wide rate's
/// region as '', so that the place is unique on both engines).
fn bind_rate<'q>(query: Query<'q>, r: &TaxRate) -> Query<'q> {
    query
        .bind(r.id.to_string())
        .bind(r.country.clone())
        .bind(r.region.clone().unwrap_or_default())
        .bind(r.name.clone())
        .bind(r.rate)
        .bind(i64::from(r.applies_to_shipping))
}

/// Inserts a tax rate (a clash on its place is [`RATE_PLACE_KEY`]).
pub async fn insert_rate<'c>(ex: impl Exec<'c>, r: &TaxRate, now: i64) -> Result<(), sqlx::Error> {
    bind_rate(
        sqlx::query(
            "insert into tax_rate (rate_id, country, region, name, rate, applies_to_shipping, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $7)",
        ),
        r,
    )
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Replaces a tax rate's fields; false if there is none.
pub async fn update_rate<'c>(
    ex: impl Exec<'c>,
    r: &TaxRate,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = bind_rate(
        sqlx::query(
            "update tax_rate set country = $2, region = $3, name = $4, rate = $5, applies_to_shipping = $6, updated_at = $7 \
             where rate_id = $1",
        ),
        r,
    )
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a tax rate; false if there is none.
pub async fn delete_rate<'c>(ex: impl Exec<'c>, rate_id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from tax_rate where rate_id = $1")
        .bind(rate_id.to_string())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The tax rate with this id.
pub async fn find_rate<'c>(
    ex: impl Exec<'c>,
    rate_id: Uuid,
) -> Result<Option<TaxRate>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {RATE_COLUMNS} from tax_rate where rate_id = $1"
    )))
    .bind(rate_id.to_string())
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(rate).transpose()
}

/// Every tax rate, by country and region.
pub async fn rates<'c>(ex: impl Exec<'c>) -> Result<Vec<TaxRate>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {RATE_COLUMNS} from tax_rate order by country, region"
    )))
    .fetch_all(ex)
    .await?;
    rows.iter().map(rate).collect()
}

/// The rates of one country (its own and its regions').
pub async fn rates_of<'c>(ex: impl Exec<'c>, country: &str) -> Result<Vec<TaxRate>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {RATE_COLUMNS} from tax_rate where country = $1 order by region"
    )))
    .bind(country)
    .fetch_all(ex)
    .await?;
    rows.iter().map(rate).collect()
}

// ---- promotions ----

const PROMOTION_COLUMNS: &str = "promotion_id, code, name, kind, value, currency, min_subtotal, starts_at, ends_at, \
     usage_limit, usage_limit_per_customer, active, created_at";

/// The promotion's columns and how often it is used.
const WITH_USES: &str = "promotion_id, code, name, kind, value, currency, min_subtotal, starts_at, ends_at, \
     usage_limit, usage_limit_per_customer, active, created_at, \
     (select count(*) from promotion_use u where u.promotion_id = promotion.promotion_id) as times_used";

fn with_uses(row: &AnyRow) -> Result<(Promotion, i64), sqlx::Error> {
    Ok((promotion(row)?, row.try_get("times_used")?))
}

fn promotion(row: &AnyRow) -> Result<Promotion, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(Promotion {
        id: id(row, "promotion.promotion_id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        kind: Kind::parse(&kind).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "promotion.kind".into(),
            source: format!("unknown kind {kind:?}").into(),
        })?,
        value: row.try_get("value")?,
        currency: row.try_get("currency")?,
        min_subtotal: row.try_get("min_subtotal")?,
        starts_at: row.try_get("starts_at")?,
        ends_at: row.try_get("ends_at")?,
        usage_limit: row.try_get("usage_limit")?,
        usage_limit_per_customer: row.try_get("usage_limit_per_customer")?,
        active: flag(row, "active")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Binds a promotion's id and fields as `$1`..`$12`, in the order both the
/// insert and the update name them.
fn bind_promotion<'q>(query: Query<'q>, p: &Promotion) -> Query<'q> {
    query
        .bind(p.id.to_string())
        .bind(p.code.clone())
        .bind(p.name.clone())
        .bind(p.kind.as_str())
        .bind(p.value)
        .bind(p.currency.clone())
        .bind(p.min_subtotal)
        .bind(p.starts_at)
        .bind(p.ends_at)
        .bind(p.usage_limit)
        .bind(p.usage_limit_per_customer)
        .bind(i64::from(p.active))
}

/// Inserts a promotion (a clash on its code is [`CODE_KEY`]).
pub async fn insert_promotion<'c>(ex: impl Exec<'c>, p: &Promotion) -> Result<(), sqlx::Error> {
    bind_promotion(
        sqlx::query(
            "insert into promotion (promotion_id, code, name, kind, value, currency, min_subtotal, starts_at, ends_at, \
             usage_limit, usage_limit_per_customer, active, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        ),
        p,
    )
    .bind(p.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Replaces a promotion's fields; false if there is none.
pub async fn update_promotion<'c>(
    ex: impl Exec<'c>,
    p: &Promotion,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = bind_promotion(
        sqlx::query(
            "update promotion set code = $2, name = $3, kind = $4, value = $5, currency = $6, min_subtotal = $7, \
             starts_at = $8, ends_at = $9, usage_limit = $10, usage_limit_per_customer = $11, active = $12, updated_at = $13 \
             where promotion_id = $1",
        ),
        p,
    )
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a promotion; false if there is none.
pub async fn delete_promotion<'c>(
    ex: impl Exec<'c>,
    promotion_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from promotion where promotion_id = $1")
        .bind(promotion_id.to_string())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The promotion with this id, and how often it is used.
pub async fn find_promotion<'c>(
    ex: impl Exec<'c>,
    promotion_id: Uuid,
) -> Result<Option<(Promotion, i64)>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {WITH_USES} from promotion where promotion_id = $1"
    )))
    .bind(promotion_id.to_string())
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(with_uses).transpose()
}

/// Promotions oldest first, after the cursor `(created_at, promotion_id)`,
/// each with how often it is used.
pub async fn promotions<'c>(
    ex: impl Exec<'c>,
    after: Option<(i64, Uuid)>,
    limit: i64,
) -> Result<Vec<(Promotion, i64)>, sqlx::Error> {
    let mut params = Params::default();
    let mut sql = format!("select {WITH_USES} from promotion");
    if let Some((at, promotion_id)) = after {
        let (a, b, c) = (params.push(at), params.push(at), params.push(promotion_id));
        sql += &format!(" where created_at > {a} or (created_at = {b} and promotion_id > {c})");
    }
    sql += &format!(
        " order by created_at, promotion_id limit {}",
        params.push(limit)
    );
    // Only placeholders and constant text were interpolated.
    let rows = params
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(ex)
        .await?;
    rows.iter().map(with_uses).collect()
}

/// The automatic promotions and the one with `code`, if any: all a quote
/// can apply.
pub async fn applicable<'c>(
    ex: impl Exec<'c>,
    code: Option<&str>,
) -> Result<Vec<Promotion>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {PROMOTION_COLUMNS} from promotion where code is null or code = $1 \
         order by created_at, promotion_id"
    )))
    .bind(code.map(str::to_owned))
    .fetch_all(ex)
    .await?;
    rows.iter().map(promotion).collect()
}

// ---- the uses mirror ----

/// How often the promotion is on placed, uncancelled orders, overall and
/// by `customer_key`.
pub async fn uses<'c>(
    ex: impl Exec<'c>,
    promotion_id: Uuid,
    customer_key: Option<&str>,
) -> Result<Uses, sqlx::Error> {
    let row = sqlx::query(
        "select count(*) as total, \
                coalesce(sum(case when customer_key = $2 then 1 else 0 end), 0) as mine \
         from promotion_use where promotion_id = $1",
    )
    .bind(promotion_id.to_string())
    .bind(customer_key.unwrap_or(""))
    .fetch_one(ex)
    .await?;
    Ok(Uses {
        total: row.try_get("total")?,
        by_customer: row.try_get("mine")?,
    })
}

/// Records that an order used a promotion (again: nothing changes).
pub async fn record_use<'c>(
    ex: impl Exec<'c>,
    order_id: Uuid,
    promotion_id: Uuid,
    customer_key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into promotion_use (order_id, promotion_id, customer_key) values ($1, $2, $3) \
         on conflict (order_id, promotion_id) do nothing",
    )
    .bind(order_id.to_string())
    .bind(promotion_id.to_string())
    .bind(customer_key)
    .execute(ex)
    .await?;
    Ok(())
}

/// Gives back the uses of a cancelled order, and remembers it is
/// cancelled (its `order.placed` may come later).
pub async fn release_uses(
    tx: &mut sqlx::AnyConnection,
    order_id: Uuid,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "insert into released_order (order_id) values ($1) on conflict (order_id) do nothing",
    )
    .bind(order_id.to_string())
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("delete from promotion_use where order_id = $1")
        .bind(order_id.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected())
}

/// Whether the order was seen cancelled.
pub async fn is_released<'c>(ex: impl Exec<'c>, order_id: Uuid) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("select 1 as one from released_order where order_id = $1")
        .bind(order_id.to_string())
        .fetch_optional(ex)
        .await?;
    Ok(row.is_some())
}
