//! SQL of the orders service: the `orders` table, to and from the
//! [`Order`] aggregate.

use platform::{
    address::{Address, AddressFields},
    db::{Params, optional_uuid_column as optional_id, uuid_column as id},
};
use serde::{Deserialize, Serialize};
use sqlx::{Row as _, any::AnyRow};
use uuid::Uuid;

pub use platform::db::Exec;

use contracts::checkout::Provider;

use crate::domain::{
    lifecycle::{CancelReason, HistoryEntry, Lifecycle, PaymentStatus, Status, Tracking},
    order::Order,
};

#[derive(Serialize, Deserialize)]
struct HistoryJson {
    status: String,
    at: i64,
    note: String,
}

#[derive(Serialize, Deserialize)]
struct TrackingJson {
    carrier: String,
    tracking_number: String,
}

fn json<T: Serialize>(value: &T) -> Result<String, sqlx::Error> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

fn parse<T: for<'de> Deserialize<'de>>(column: &str, raw: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(raw).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.into(),
        source: Box::new(e),
    })
}

fn decode_err(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.into(),
        source: format!("unknown value `{value}`").into(),
    }
}

fn history_json(history: &[HistoryEntry]) -> Vec<HistoryJson> {
    history
        .iter()
        .map(|h| HistoryJson {
            status: h.status.as_str().into(),
            at: h.at,
            note: h.note.clone(),
        })
        .collect()
}

const COLUMNS: &str = "order_id, number, customer_id, email, status, payment_status, cancel_reason, \
    currency, subtotal, shipping_total, tax_total, total, items, shipping_address, payment_provider, \
    payment_id, tracking, history, version, created_at, updated_at, discount_total, shipping_option, promotions";

fn order(row: &AnyRow) -> Result<Order, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let payment_status: String = row.try_get("payment_status")?;
    let cancel_reason: Option<String> = row.try_get("cancel_reason")?;
    let tracking: Option<String> = row.try_get("tracking")?;
    let address: AddressFields = parse(
        "shipping_address",
        &row.try_get::<String, _>("shipping_address")?,
    )?;
    let history: Vec<HistoryJson> = parse("history", &row.try_get::<String, _>("history")?)?;
    let history = history
        .into_iter()
        .map(|h| {
            Ok(HistoryEntry {
                status: Status::parse(&h.status)
                    .ok_or_else(|| decode_err("orders.history", &h.status))?,
                at: h.at,
                note: h.note,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let tracking = tracking
        .map(|t| parse::<TrackingJson>("tracking", &t))
        .transpose()?
        .map(|t| Tracking {
            carrier: t.carrier,
            tracking_number: t.tracking_number,
        });
    Ok(Order {
        id: id(row, "order_id")?,
        number: row.try_get("number")?,
        customer_id: optional_id(row, "orders.customer_id")?,
        email: row.try_get("email")?,
        currency: row.try_get("currency")?,
        subtotal: row.try_get("subtotal")?,
        discount_total: row.try_get("discount_total")?,
        shipping_total: row.try_get("shipping_total")?,
        tax_total: row.try_get("tax_total")?,
        total: row.try_get("total")?,
        items: parse("items", &row.try_get::<String, _>("items")?)?,
        shipping_option: row
            .try_get::<Option<String>, _>("shipping_option")?
            .map(|raw| parse("shipping_option", &raw))
            .transpose()?,
        promotions: parse("promotions", &row.try_get::<String, _>("promotions")?)?,
        // Stored after validation: taken as it is, even if rules tighten later.
        shipping_address: Address {
            name: address.name,
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            region: address.region,
            postal_code: address.postal_code,
            country: address.country,
            phone: address.phone,
        },
        payment_provider: {
            let name: String = row.try_get("payment_provider")?;
            Provider::parse(&name).ok_or_else(|| decode_err("orders.payment_provider", &name))?
        },
        lifecycle: Lifecycle {
            status: Status::parse(&status).ok_or_else(|| decode_err("orders.status", &status))?,
            payment_status: PaymentStatus::parse(&payment_status)
                .ok_or_else(|| decode_err("orders.payment_status", &payment_status))?,
            cancel_reason: cancel_reason
                .map(|r| {
                    CancelReason::parse(&r).ok_or_else(|| decode_err("orders.cancel_reason", &r))
                })
                .transpose()?,
            payment_id: optional_id(row, "orders.payment_id")?,
            tracking,
            history,
        },
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The order with this id.
pub async fn find<'c>(ex: impl Exec<'c>, order_id: Uuid) -> Result<Option<Order>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from orders where order_id = $1"
    )))
    .bind(order_id.to_string())
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(order).transpose()
}

/// Name of the unique index on order numbers.
pub const NUMBER_KEY: &str = "orders_number_key";

/// Inserts a new order.
pub async fn insert<'c>(ex: impl Exec<'c>, o: &Order) -> Result<(), sqlx::Error> {
    let l = &o.lifecycle;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into orders ({COLUMNS}) values \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
    )))
    .bind(o.id.to_string())
    .bind(&o.number)
    .bind(o.customer_id.map(|c| c.to_string()))
    .bind(&o.email)
    .bind(l.status.as_str())
    .bind(l.payment_status.as_str())
    .bind(l.cancel_reason.map(CancelReason::as_str))
    .bind(&o.currency)
    .bind(o.subtotal)
    .bind(o.shipping_total)
    .bind(o.tax_total)
    .bind(o.total)
    .bind(json(&o.items)?)
    .bind(json(&AddressFields::from(o.shipping_address.clone()))?)
    .bind(o.payment_provider.as_str())
    .bind(l.payment_id.map(|p| p.to_string()))
    .bind(tracking_json(l.tracking.as_ref())?)
    .bind(json(&history_json(&l.history))?)
    .bind(o.version)
    .bind(o.created_at)
    .bind(o.updated_at)
    .bind(o.discount_total)
    .bind(o.shipping_option.as_ref().map(json).transpose()?)
    .bind(json(&o.promotions)?)
    .execute(ex)
    .await?;
    Ok(())
}

/// Which limit stopped a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsedUp {
    /// `usage_limit`.
    Total,
    /// `usage_limit_per_customer`.
    ForCustomer,
}

/// Takes one use of each of the order's limited promotions, or none: a
/// conditional upsert per limit (`used < limit`, or nothing is returned),
/// which under concurrent placings lets exactly `limit` of them through on
/// both engines (PostgreSQL re-checks the condition on the row it waited
/// for; SQLite has one writer). Call in the placing transaction, which the
/// caller rolls back on `Err`.
pub async fn take_uses(
    tx: &mut sqlx::AnyConnection,
    o: &Order,
    customer_key: &str,
) -> Result<Result<(), (Uuid, UsedUp)>, sqlx::Error> {
    for p in &o.promotions {
        if let Some(limit) = p.usage_limit {
            let taken = sqlx::query(
                "insert into promotion_uses (promotion_id, used) select $1, 1 where $2 >= 1 \
                 on conflict (promotion_id) do update set used = promotion_uses.used + 1 \
                 where promotion_uses.used < $2 returning used",
            )
            .bind(p.promotion_id.to_string())
            .bind(limit)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_none() {
                return Ok(Err((p.promotion_id, UsedUp::Total)));
            }
        }
        if let Some(limit) = p.usage_limit_per_customer {
            let taken = sqlx::query(
                "insert into promotion_customer_uses (promotion_id, customer_key, used) select $1, $2, 1 where $3 >= 1 \
                 on conflict (promotion_id, customer_key) do update set used = promotion_customer_uses.used + 1 \
                 where promotion_customer_uses.used < $3 returning used",
            )
            .bind(p.promotion_id.to_string())
            .bind(customer_key)
            .bind(limit)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_none() {
                return Ok(Err((p.promotion_id, UsedUp::ForCustomer)));
            }
        }
    }
    Ok(Ok(()))
}

/// Gives back the uses [`take_uses`] took for a cancelled order. Call in
/// the cancelling transaction (an order is cancelled once).
pub async fn release_uses(
    tx: &mut sqlx::AnyConnection,
    o: &Order,
    customer_key: &str,
) -> Result<(), sqlx::Error> {
    for p in &o.promotions {
        if p.usage_limit.is_some() {
            sqlx::query(
                "update promotion_uses set used = used - 1 where promotion_id = $1 and used > 0",
            )
            .bind(p.promotion_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        if p.usage_limit_per_customer.is_some() {
            sqlx::query(
                "update promotion_customer_uses set used = used - 1 \
                 where promotion_id = $1 and customer_key = $2 and used > 0",
            )
            .bind(p.promotion_id.to_string())
            .bind(customer_key)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

fn tracking_json(tracking: Option<&Tracking>) -> Result<Option<String>, sqlx::Error> {
    tracking
        .map(|t| {
            json(&TrackingJson {
                carrier: t.carrier.clone(),
                tracking_number: t.tracking_number.clone(),
            })
        })
        .transpose()
}

/// Writes an order's lifecycle if nobody changed it since it was read at
/// `o.version`; false when someone did (reload and decide again).
pub async fn update_lifecycle<'c>(ex: impl Exec<'c>, o: &Order) -> Result<bool, sqlx::Error> {
    let l = &o.lifecycle;
    let done = sqlx::query(
        "update orders set status = $3, payment_status = $4, cancel_reason = $5, payment_id = $6, \
         tracking = $7, history = $8, updated_at = $9, version = version + 1 \
         where order_id = $1 and version = $2",
    )
    .bind(o.id.to_string())
    .bind(o.version)
    .bind(l.status.as_str())
    .bind(l.payment_status.as_str())
    .bind(l.cancel_reason.map(CancelReason::as_str))
    .bind(l.payment_id.map(|p| p.to_string()))
    .bind(tracking_json(l.tracking.as_ref())?)
    .bind(json(&history_json(&l.history))?)
    .bind(o.updated_at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which orders a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only in this status.
    pub status: Option<Status>,
    /// Placed at or after (Unix milliseconds).
    pub created_from: Option<i64>,
    /// Placed before (Unix milliseconds).
    pub created_to: Option<i64>,
}

/// A page of orders, newest first, after the cursor `(created_at, order_id)`.
pub async fn list<'c>(
    ex: impl Exec<'c>,
    filter: &Filter,
    after: Option<(i64, Uuid)>,
    limit: i64,
) -> Result<Vec<Order>, sqlx::Error> {
    let mut params = Params::default();
    let mut sql = format!("select {COLUMNS} from orders where 1 = 1");
    if let Some(customer) = filter.customer_id {
        sql += &format!(" and customer_id = {}", params.push(customer));
    }
    if let Some(status) = filter.status {
        sql += &format!(" and status = {}", params.push(status.as_str()));
    }
    if let Some(from) = filter.created_from {
        sql += &format!(" and created_at >= {}", params.push(from));
    }
    if let Some(to) = filter.created_to {
        sql += &format!(" and created_at < {}", params.push(to));
    }
    if let Some((at, order_id)) = after {
        let (a, b, c) = (params.push(at), params.push(at), params.push(order_id));
        sql += &format!(" and (created_at < {a} or (created_at = {b} and order_id < {c}))");
    }
    sql += &format!(
        " order by created_at desc, order_id desc limit {}",
        params.push(limit)
    );
    // Only placeholders and constant text were interpolated.
    let rows = params
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(ex)
        .await?;
    rows.iter().map(order).collect()
}

/// The overview's figures: see [`Summary`].
#[derive(Debug, Default)]
pub struct Summary {
    pub placed: i64,
    pub paid: i64,
    /// `(currency, sum of totals)` of the paid orders, by currency.
    pub revenue: Vec<(String, i64)>,
    pub payments_failed: i64,
    pub by_status: Vec<(String, i64)>,
    pub stuck_awaiting_payment: i64,
}

/// Figures of the orders placed since `from` (Unix milliseconds), the
/// count of every status, and the orders awaiting payment since before
/// `stuck_before`. Each is one aggregate over an indexed column.
pub async fn summary(
    ex: &sqlx::AnyPool,
    from: i64,
    stuck_before: i64,
) -> Result<Summary, sqlx::Error> {
    let placed: i64 = sqlx::query_scalar("select count(*) from orders where created_at >= $1")
        .bind(from)
        .fetch_one(ex)
        .await?;
    let revenue_rows = sqlx::query(
        "select currency, count(*) as n, cast(sum(total) as bigint) as total from orders \
         where created_at >= $1 and payment_status = $2 group by currency order by currency",
    )
    .bind(from)
    .bind(PaymentStatus::Succeeded.as_str())
    .fetch_all(ex)
    .await?;
    let mut paid = 0;
    let mut revenue = Vec::with_capacity(revenue_rows.len());
    for row in &revenue_rows {
        paid += row.try_get::<i64, _>("n")?;
        revenue.push((row.try_get("currency")?, row.try_get("total")?));
    }
    let payments_failed: i64 = sqlx::query_scalar(
        "select count(*) from orders where created_at >= $1 and (payment_status = $2 or cancel_reason = $3)",
    )
    .bind(from)
    .bind(PaymentStatus::Failed.as_str())
    .bind(CancelReason::PaymentFailed.as_str())
    .fetch_one(ex)
    .await?;
    let by_status = sqlx::query("select status, count(*) as n from orders group by status")
        .fetch_all(ex)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let stuck_awaiting_payment: i64 =
        sqlx::query_scalar("select count(*) from orders where status = $1 and updated_at < $2")
            .bind(Status::AwaitingPayment.as_str())
            .bind(stuck_before)
            .fetch_one(ex)
            .await?;
    Ok(Summary {
        placed,
        paid,
        revenue,
        payments_failed,
        by_status,
        stuck_awaiting_payment,
    })
}

/// When the longest-waiting order entered `awaiting_payment` (its last
/// update), if any order waits: what a saga stuck between reservation and
/// payment shows as.
pub async fn oldest_awaiting_payment<'c>(ex: impl Exec<'c>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select min(updated_at) from orders where status = $1")
        .bind(Status::AwaitingPayment.as_str())
        .fetch_one(ex)
        .await
}
