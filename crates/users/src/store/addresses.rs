//! The `address` table.

use sqlx::{Row as _, any::AnyRow};
use uuid::Uuid;

use super::{Exec, opt_text, uuid};
use crate::domain::Address;

/// An address-book entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAddress {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The owner.
    pub account_id: Uuid,
    /// The address.
    pub address: Address,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

const COLUMNS: &str = "address_id, account_id, name, line1, line2, city, region, postal_code, \
                       country, phone, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<StoredAddress, sqlx::Error> {
    Ok(StoredAddress {
        id: uuid(row, "address_id")?,
        account_id: uuid(row, "account_id")?,
        address: Address {
            name: row.try_get("name")?,
            line1: row.try_get("line1")?,
            line2: opt_text(row, "line2")?,
            city: row.try_get("city")?,
            region: opt_text(row, "region")?,
            postal_code: row.try_get("postal_code")?,
            country: row.try_get("country")?,
            phone: opt_text(row, "phone")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The account's addresses, oldest first.
pub async fn list<'c>(
    ex: impl Exec<'c>,
    account_id: Uuid,
) -> Result<Vec<StoredAddress>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from address where account_id = $1 order by address_id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id.to_string())
        .fetch_all(ex)
        .await?;
    rows.iter().map(from_row).collect()
}

/// How many addresses the account has.
pub async fn count<'c>(ex: impl Exec<'c>, account_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query("select count(*) as n from address where account_id = $1")
        .bind(account_id.to_string())
        .fetch_one(ex)
        .await?
        .try_get("n")
}

/// The account's address with this id (another account's is not found).
pub async fn find<'c>(
    ex: impl Exec<'c>,
    account_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredAddress>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from address where account_id = $1 and address_id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id.to_string())
        .bind(id.to_string())
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The account's address with this id, taken for this write transaction
/// (see [`super::accounts::lock`]).
pub async fn lock(
    tx: &mut sqlx::AnyConnection,
    account_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredAddress>, sqlx::Error> {
    let sql = format!(
        "update address set updated_at = updated_at where account_id = $1 and address_id = $2 \
         returning {COLUMNS}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id.to_string())
        .bind(id.to_string())
        .fetch_optional(tx)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Inserts an address.
pub async fn insert<'c>(ex: impl Exec<'c>, a: &StoredAddress) -> Result<(), sqlx::Error> {
    let sql = format!(
        "insert into address ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    );
    bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), a)
        .execute(ex)
        .await?;
    Ok(())
}

/// Rewrites an address's fields (`created_at` is written back unchanged,
/// so that both statements bind the same twelve values).
pub async fn update<'c>(ex: impl Exec<'c>, a: &StoredAddress) -> Result<(), sqlx::Error> {
    let sql = "update address set name = $3, line1 = $4, line2 = $5, city = $6, region = $7, \
               postal_code = $8, country = $9, phone = $10, created_at = $11, updated_at = $12 \
               where address_id = $1 and account_id = $2";
    bind_all(sqlx::query(sql), a).execute(ex).await?;
    Ok(())
}

fn bind_all<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    a: &StoredAddress,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(a.id.to_string())
        .bind(a.account_id.to_string())
        .bind(a.address.name.clone())
        .bind(a.address.line1.clone())
        .bind(a.address.line2.clone())
        .bind(a.address.city.clone())
        .bind(a.address.region.clone())
        .bind(a.address.postal_code.clone())
        .bind(a.address.country.clone())
        .bind(a.address.phone.clone())
        .bind(a.created_at)
        .bind(a.updated_at)
}

/// Deletes the account's address; false if there was none.
pub async fn delete<'c>(
    ex: impl Exec<'c>,
    account_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from address where account_id = $1 and address_id = $2")
        .bind(account_id.to_string())
        .bind(id.to_string())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
