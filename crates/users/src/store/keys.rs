//! The `signing_key` table.

use sqlx::Row as _;

use super::Exec;

/// A stored Ed25519 key pair.
#[derive(Clone)]
pub struct StoredKey {
    /// Key id, as in the JWT header and the JWKS.
    pub kid: String,
    /// PKCS#8 document, base64.
    pub private_pkcs8: String,
    /// Raw public key, base64url.
    pub public_key: String,
    /// Unix ms.
    pub created_at: i64,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Every key, oldest first.
pub async fn all<'c>(ex: impl Exec<'c>) -> Result<Vec<StoredKey>, sqlx::Error> {
    let rows = sqlx::query(
        "select kid, private_pkcs8, public_key, created_at from signing_key order by created_at, kid",
    )
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredKey {
                kid: r.try_get("kid")?,
                private_pkcs8: r.try_get("private_pkcs8")?,
                public_key: r.try_get("public_key")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// Stores a key.
pub async fn insert<'c>(ex: impl Exec<'c>, key: &StoredKey) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into signing_key (kid, private_pkcs8, public_key, created_at) values ($1, $2, $3, $4)",
    )
    .bind(&key.kid)
    .bind(&key.private_pkcs8)
    .bind(&key.public_key)
    .bind(key.created_at)
    .execute(ex)
    .await?;
    Ok(())
}
