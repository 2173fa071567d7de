//! SQL for the users service, one module per aggregate. Only this folder
//! speaks sqlx; every query uses `$N` placeholders and portable SQL so the
//! same text runs on SQLite and PostgreSQL.

pub mod accounts;
pub mod addresses;
pub mod keys;
pub mod login_failures;
pub mod tokens;

pub use platform::db::Exec;
use sqlx::any::AnyRow;

/// Reads an optional text column.
pub(crate) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::Row::try_get::<Option<String>, _>(row, column)
}

/// Reads a 0/1 flag column.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    sqlx::Row::try_get::<i64, _>(row, column).map(|v| v != 0)
}

/// Reads a UUID stored as text.
pub(crate) use platform::db::uuid_column as uuid;
