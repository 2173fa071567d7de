//! The `stock`, `stock_adjustment` and `reservation` tables.
//!
//! Every change is a conditional update (`... where on_hand - reserved >= $q`)
//! so that concurrent writers can never oversell, whatever they read before.

use sqlx::Row as _;
use uuid::Uuid;

use super::Exec;

/// Stock of one SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// Units in the warehouse.
    pub on_hand: i64,
    /// Units held for unpaid orders.
    pub reserved: i64,
}

/// The SKU's levels.
pub async fn levels<'c>(ex: impl Exec<'c>, sku: &str) -> Result<Option<Levels>, sqlx::Error> {
    let row = sqlx::query("select on_hand, reserved from stock where sku = $1")
        .bind(sku)
        .fetch_optional(ex)
        .await?;
    row.map(|r| {
        Ok(Levels {
            on_hand: r.try_get("on_hand")?,
            reserved: r.try_get("reserved")?,
        })
    })
    .transpose()
}

/// One SKU's levels with what it is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stocked {
    pub sku: String,
    pub levels: Levels,
    pub product_id: String,
    pub product_name: String,
    pub variant_title: String,
}

/// SKUs in SKU order after `after`, only those with fewer than `below`
/// units available when given; `limit` rows at most.
pub async fn list<'c>(
    ex: impl Exec<'c>,
    below: Option<i64>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Stocked>, sqlx::Error> {
    let rows = sqlx::query(
        "select s.sku, s.on_hand, s.reserved, v.product_id, p.name, v.title \
         from stock s join variant v on v.sku = s.sku join product p on p.product_id = v.product_id \
         where ($1 is null or s.on_hand - s.reserved < $1) and ($2 is null or s.sku > $2) \
         order by s.sku limit $3",
    )
    .bind(below)
    .bind(after)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Stocked {
                sku: r.try_get("sku")?,
                levels: Levels {
                    on_hand: r.try_get("on_hand")?,
                    reserved: r.try_get("reserved")?,
                },
                product_id: r.try_get("product_id")?,
                product_name: r.try_get("name")?,
                variant_title: r.try_get("title")?,
            })
        })
        .collect()
}

/// Adds `delta` to on hand unless that would leave less than is reserved;
/// false when refused. Records the adjustment in the ledger.
pub async fn adjust(
    tx: &mut sqlx::AnyConnection,
    sku: &str,
    delta: i64,
    reason: &str,
    actor: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update stock set on_hand = on_hand + $2, updated_at = $3 where sku = $1 and on_hand + $2 >= reserved",
    )
    .bind(sku)
    .bind(delta)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    record(tx, sku, delta, reason, actor, now).await?;
    Ok(true)
}

async fn record(
    tx: &mut sqlx::AnyConnection,
    sku: &str,
    delta: i64,
    reason: &str,
    actor: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into stock_adjustment (adjustment_id, sku, delta, reason, actor, created_at) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(sku)
    .bind(delta)
    .bind(reason)
    .bind(actor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// Change to on hand.
    pub delta: i64,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// Unix ms.
    pub created_at: i64,
}

/// The SKU's most recent adjustments, newest first.
pub async fn ledger<'c>(
    ex: impl Exec<'c>,
    sku: &str,
    limit: i64,
) -> Result<Vec<Adjustment>, sqlx::Error> {
    let rows = sqlx::query(
        "select delta, reason, actor, created_at from stock_adjustment where sku = $1 \
         order by created_at desc, adjustment_id desc limit $2",
    )
    .bind(sku)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Adjustment {
                delta: r.try_get("delta")?,
                reason: r.try_get("reason")?,
                actor: r.try_get("actor")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The reservation rows of an order: (sku, quantity, status).
pub async fn reservation<'c>(
    ex: impl Exec<'c>,
    order_id: Uuid,
) -> Result<Vec<(String, i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "select sku, quantity, status from reservation where order_id = $1 order by sku",
    )
    .bind(order_id.to_string())
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("sku")?,
                r.try_get("quantity")?,
                r.try_get("status")?,
            ))
        })
        .collect()
}

/// Holds `quantity` of `sku` if that many are available; false otherwise.
pub async fn hold(
    tx: &mut sqlx::AnyConnection,
    sku: &str,
    quantity: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update stock set reserved = reserved + $2, updated_at = $3 where sku = $1 and on_hand - reserved >= $2",
    )
    .bind(sku)
    .bind(quantity)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records an order's reserved line.
pub async fn insert_reservation(
    tx: &mut sqlx::AnyConnection,
    order_id: Uuid,
    sku: &str,
    quantity: i64,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into reservation (order_id, sku, quantity, status, expires_at, created_at, updated_at) \
         values ($1, $2, $3, 'reserved', $4, $5, $5)",
    )
    .bind(order_id.to_string())
    .bind(sku)
    .bind(quantity)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Ends an order's reservation: `released` puts the units back, `committed`
/// turns them into a sale (on hand and reserved both drop). Only lines still
/// `reserved` change, so repeating it changes nothing. Returns the lines changed.
pub async fn settle(
    tx: &mut sqlx::AnyConnection,
    order_id: Uuid,
    to: &str,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let lines = reservation(&mut *tx, order_id).await?;
    let mut changed = 0;
    for (sku, quantity, status) in lines {
        if status != "reserved" {
            continue;
        }
        let stock_sql = if to == "committed" {
            "update stock set on_hand = on_hand - $2, reserved = reserved - $2, updated_at = $3 where sku = $1"
        } else {
            "update stock set reserved = reserved - $2, updated_at = $3 where sku = $1"
        };
        sqlx::query(stock_sql)
            .bind(&sku)
            .bind(quantity)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update reservation set status = $3, updated_at = $4 where order_id = $1 and sku = $2 and status = 'reserved'",
        )
        .bind(order_id.to_string())
        .bind(&sku)
        .bind(to)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if to == "committed" {
            record(
                tx,
                &sku,
                -quantity,
                "sold",
                &format!("order:{order_id}"),
                now,
            )
            .await?;
        }
        changed += 1;
    }
    Ok(changed)
}

/// Puts the sold units of a cancelled, unshipped order back on hand (the
/// lines become `returned`). Only `committed` lines change, so repeating
/// it changes nothing. Returns the lines changed.
pub async fn restock(
    tx: &mut sqlx::AnyConnection,
    order_id: Uuid,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let lines = reservation(&mut *tx, order_id).await?;
    let mut changed = 0;
    for (sku, quantity, status) in lines {
        if status != "committed" {
            continue;
        }
        sqlx::query("update stock set on_hand = on_hand + $2, updated_at = $3 where sku = $1")
            .bind(&sku)
            .bind(quantity)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update reservation set status = 'returned', updated_at = $3 \
             where order_id = $1 and sku = $2 and status = 'committed'",
        )
        .bind(order_id.to_string())
        .bind(&sku)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        record(
            tx,
            &sku,
            quantity,
            "returned",
            &format!("order:{order_id}"),
            now,
        )
        .await?;
        changed += 1;
    }
    Ok(changed)
}

/// Orders whose reservations expired unpaid.
pub async fn expired_orders<'c>(
    ex: impl Exec<'c>,
    now: i64,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query(
        "select distinct order_id from reservation where status = 'reserved' and expires_at <= $1 limit $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| super::uuid(r, "order_id")).collect()
}
