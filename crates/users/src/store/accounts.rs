//! The `account` table, to and from [`Account`].

use platform::auth::Role;
use sqlx::{Row as _, any::AnyRow};
use uuid::Uuid;

use super::{Exec, flag, opt_text, uuid};
use crate::domain::account::Account;

const COLUMNS: &str = "account_id, email, password_hash, name, phone, role, email_verified, \
                       disabled, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Account, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Account {
        id: uuid(row, "account_id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        name: row.try_get("name")?,
        phone: opt_text(row, "phone")?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "account.role".into(),
            source: format!("unknown role `{role}`").into(),
        })?,
        email_verified: flag(row, "email_verified")?,
        disabled: flag(row, "disabled")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Name of the unique constraint on email, for matching violations.
pub const EMAIL_KEY: &str = "account_email_key";

/// Inserts an account; a taken email fails with a unique violation on [`EMAIL_KEY`].
pub async fn insert<'c>(ex: impl Exec<'c>, a: &Account) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into account (account_id, email, password_hash, name, phone, role, \
         email_verified, disabled, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(a.id.to_string())
    .bind(&a.email)
    .bind(&a.password_hash)
    .bind(&a.name)
    .bind(a.phone.clone())
    .bind(a.role.as_str())
    .bind(i64::from(a.email_verified))
    .bind(i64::from(a.disabled))
    .bind(a.created_at)
    .bind(a.updated_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The account with this (lower-cased) email.
pub async fn find_by_email<'c>(
    ex: impl Exec<'c>,
    email: &str,
) -> Result<Option<Account>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from account where email = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The account with this id.
pub async fn find<'c>(ex: impl Exec<'c>, id: Uuid) -> Result<Option<Account>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from account where account_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Is any account registered under this email?
pub async fn email_exists<'c>(ex: impl Exec<'c>, email: &str) -> Result<bool, sqlx::Error> {
    let found = sqlx::query("select 1 from account where email = $1")
        .bind(email)
        .fetch_optional(ex)
        .await?;
    Ok(found.is_some())
}

/// The account, taken for this write transaction: on PostgreSQL the row
/// lock queues concurrent read-modify-writes of one account (profile,
/// access, address book) behind each other, so none is lost; on SQLite the
/// write transaction already excludes other writers.
pub async fn lock(tx: &mut sqlx::AnyConnection, id: Uuid) -> Result<Option<Account>, sqlx::Error> {
    let sql = format!(
        "update account set updated_at = updated_at where account_id = $1 returning {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes the mutable profile fields.
pub async fn update_profile<'c>(ex: impl Exec<'c>, a: &Account) -> Result<(), sqlx::Error> {
    sqlx::query("update account set name = $1, phone = $2, updated_at = $3 where account_id = $4")
        .bind(&a.name)
        .bind(a.phone.clone())
        .bind(a.updated_at)
        .bind(a.id.to_string())
        .execute(ex)
        .await?;
    Ok(())
}

/// Writes the role and disabled flag.
pub async fn update_access<'c>(ex: impl Exec<'c>, a: &Account) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update account set role = $1, disabled = $2, updated_at = $3 where account_id = $4",
    )
    .bind(a.role.as_str())
    .bind(i64::from(a.disabled))
    .bind(a.updated_at)
    .bind(a.id.to_string())
    .execute(ex)
    .await?;
    Ok(())
}

/// Replaces the password hash.
pub async fn set_password<'c>(
    ex: impl Exec<'c>,
    id: Uuid,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update account set password_hash = $1, updated_at = $2 where account_id = $3")
        .bind(hash)
        .bind(now)
        .bind(id.to_string())
        .execute(ex)
        .await?;
    Ok(())
}

/// Marks the email as verified.
pub async fn set_email_verified<'c>(
    ex: impl Exec<'c>,
    id: Uuid,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update account set email_verified = 1, updated_at = $1 where account_id = $2")
        .bind(now)
        .bind(id.to_string())
        .execute(ex)
        .await?;
    Ok(())
}

/// One page of accounts, newest first, optionally filtered by an email
/// substring; `before` is the id the previous page ended with.
pub async fn list<'c>(
    ex: impl Exec<'c>,
    email_contains: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Account>, sqlx::Error> {
    // Emails are stored lower-cased, so a lower-cased pattern makes LIKE
    // case-insensitive on PostgreSQL too. `\` escapes the pattern characters.
    let pattern = email_contains.map(|e| {
        let escaped = e
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let sql = format!(
        "select {COLUMNS} from account \
         where ($1 is null or email like $1 escape '\\') and ($2 is null or account_id < $2) \
         order by account_id desc limit $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(pattern)
        .bind(before.map(str::to_owned))
        .bind(limit)
        .fetch_all(ex)
        .await?;
    rows.iter().map(from_row).collect()
}
