//! The `login_failure` table: recent failed logins per throttling key.

use sqlx::Row as _;

use super::Exec;

/// Times (Unix ms) of failures for `scope` after `since`.
pub async fn recent<'c>(
    ex: impl Exec<'c>,
    scope: &str,
    since: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows =
        sqlx::query("select failed_at from login_failure where scope = $1 and failed_at > $2")
            .bind(scope)
            .bind(since)
            .fetch_all(ex)
            .await?;
    rows.iter().map(|r| r.try_get("failed_at")).collect()
}

/// Records a failure for `scope` and forgets this scope's failures that
/// left the window.
pub async fn record(
    tx: &mut sqlx::AnyConnection,
    scope: &str,
    now: i64,
    window_start: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from login_failure where scope = $1 and failed_at <= $2")
        .bind(scope)
        .bind(window_start)
        .execute(&mut *tx)
        .await?;
    sqlx::query("insert into login_failure (scope, failed_at) values ($1, $2)")
        .bind(scope)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Forgets the failures of `scope` (after a successful login).
pub async fn clear<'c>(ex: impl Exec<'c>, scope: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from login_failure where scope = $1")
        .bind(scope)
        .execute(ex)
        .await?;
    Ok(())
}

/// Forgets every failure older than `before` (all scopes); returns how many.
pub async fn prune<'c>(ex: impl Exec<'c>, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("delete from login_failure where failed_at <= $1")
        .bind(before)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}
