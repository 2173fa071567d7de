//! The `refresh_token` and `one_time_token` tables.

use sqlx::Row as _;
use uuid::Uuid;

use super::{Exec, uuid};

/// A refresh token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// The session it belongs to.
    pub family_id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// Unix ms.
    pub expires_at: i64,
    /// Set once it has been exchanged.
    pub used_at: Option<i64>,
    /// Set when its family was revoked.
    pub revoked_at: Option<i64>,
}

/// Stores a new refresh token.
pub async fn insert_refresh<'c>(
    ex: impl Exec<'c>,
    hash: &str,
    family_id: Uuid,
    account_id: Uuid,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into refresh_token (token_hash, family_id, account_id, created_at, expires_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(family_id.to_string())
    .bind(account_id.to_string())
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The refresh token with this hash.
pub async fn find_refresh<'c>(
    ex: impl Exec<'c>,
    hash: &str,
) -> Result<Option<RefreshToken>, sqlx::Error> {
    let row = sqlx::query(
        "select family_id, account_id, expires_at, used_at, revoked_at \
         from refresh_token where token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(ex)
    .await?;
    row.map(|row| {
        Ok(RefreshToken {
            family_id: uuid(&row, "family_id")?,
            account_id: uuid(&row, "account_id")?,
            expires_at: row.try_get("expires_at")?,
            used_at: row.try_get("used_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    })
    .transpose()
}

/// Marks a token used if it was not yet; false means someone else used it first.
pub async fn mark_refresh_used<'c>(
    ex: impl Exec<'c>,
    hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update refresh_token set used_at = $1 \
         where token_hash = $2 and used_at is null and revoked_at is null",
    )
    .bind(now)
    .bind(hash)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every token of a session.
pub async fn revoke_family<'c>(
    ex: impl Exec<'c>,
    family_id: Uuid,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update refresh_token set revoked_at = $1 where family_id = $2 and revoked_at is null",
    )
    .bind(now)
    .bind(family_id.to_string())
    .execute(ex)
    .await?;
    Ok(())
}

/// Revokes every session of an account, except `keep` if given.
pub async fn revoke_account<'c>(
    ex: impl Exec<'c>,
    account_id: Uuid,
    keep: Option<Uuid>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update refresh_token set revoked_at = $1 \
         where account_id = $2 and revoked_at is null and ($3 is null or family_id <> $3)",
    )
    .bind(now)
    .bind(account_id.to_string())
    .bind(keep.map(|k| k.to_string()))
    .execute(ex)
    .await?;
    Ok(())
}

/// What a single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Choose a new password.
    PasswordReset,
    /// Prove the email address.
    EmailVerification,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
        }
    }
}

/// Stores a single-use token.
pub async fn insert_one_time<'c>(
    ex: impl Exec<'c>,
    purpose: Purpose,
    hash: &str,
    account_id: Uuid,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into one_time_token (token_hash, purpose, account_id, created_at, expires_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(purpose.as_str())
    .bind(account_id.to_string())
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// The account a live (unused, unexpired) token belongs to, without using it.
pub async fn peek_one_time<'c>(
    ex: impl Exec<'c>,
    purpose: Purpose,
    hash: &str,
    now: i64,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row = sqlx::query(
        "select account_id from one_time_token \
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3",
    )
    .bind(hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(|row| uuid(&row, "account_id")).transpose()
}

/// Uses a live token (conditional update, so two requests cannot both use
/// it) and returns its account.
pub async fn consume_one_time(
    tx: &mut sqlx::AnyConnection,
    purpose: Purpose,
    hash: &str,
    now: i64,
) -> Result<Option<Uuid>, sqlx::Error> {
    let Some(account_id) = peek_one_time(&mut *tx, purpose, hash, now).await? else {
        return Ok(None);
    };
    let done = sqlx::query(
        "update one_time_token set used_at = $1 \
         where token_hash = $2 and purpose = $3 and used_at is null and expires_at > $1",
    )
    .bind(now)
    .bind(hash)
    .bind(purpose.as_str())
    .execute(&mut *tx)
    .await?;
    Ok((done.rows_affected() == 1).then_some(account_id))
}

/// Invalidates every outstanding token of this purpose for the account.
pub async fn expire_all_one_time<'c>(
    ex: impl Exec<'c>,
    purpose: Purpose,
    account_id: Uuid,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update one_time_token set used_at = $1 \
         where account_id = $2 and purpose = $3 and used_at is null",
    )
    .bind(now)
    .bind(account_id.to_string())
    .bind(purpose.as_str())
    .execute(ex)
    .await?;
    Ok(())
}

/// Deletes one-time tokens that expired, and refresh tokens that expired,
/// as of `now`; returns how many.
pub async fn prune<'c>(ex: impl Exec<'c> + Copy, now: i64) -> Result<u64, sqlx::Error> {
    let one_time = sqlx::query("delete from one_time_token where expires_at <= $1")
        .bind(now)
        .execute(ex)
        .await?;
    let refresh = sqlx::query("delete from refresh_token where expires_at <= $1")
        .bind(now)
        .execute(ex)
        .await?;
    Ok(one_time.rows_affected() + refresh.rows_affected())
}
