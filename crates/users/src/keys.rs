//! Signing keys for access tokens: Ed25519, generated on first start and
//! kept in the database, so every instance signs with the same key and the
//! JWKS lists every key a live token may carry.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use aws_lc_rs::{
    digest,
    signature::{Ed25519KeyPair, KeyPair as _},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use platform::{auth::Claims, db::Db};
use tokio::sync::{Mutex, RwLock};

use crate::store;

/// Reload the key table on an unknown kid at most this often.
const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The keys this service signs and verifies with.
pub struct KeyRing {
    db: Db,
    loaded: RwLock<Loaded>,
    last_reload: Mutex<Instant>,
}

struct Loaded {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
}

/// The public half of every key as a JWK set (RFC 8037 OKP keys).
fn jwks_document(keys: &[store::keys::StoredKey]) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|key| {
            serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": key.public_key,
                "kid": key.kid,
                "alg": "EdDSA",
                "use": "sig",
            })
        })
        .collect();
    serde_json::json!({ "keys": keys })
}

impl KeyRing {
    /// Loads the keys, generating the first one if there is none.
    pub async fn load_or_create(db: Db) -> anyhow::Result<Arc<Self>> {
        let mut keys = store::keys::all(db.pool())
            .await
            .context("reading signing keys")?;
        if keys.is_empty() {
            let key = generate()?;
            tracing::info!(kid = %key.kid, "generated the first access-token signing key");
            store::keys::insert(db.pool(), &key)
                .await
                .context("storing the signing key")?;
            keys = store::keys::all(db.pool())
                .await
                .context("reading signing keys")?;
        }
        let loaded = Loaded::from_keys(&keys)?;
        Ok(Arc::new(Self {
            db,
            loaded: RwLock::new(loaded),
            // Allow a reload at the first unknown kid.
            last_reload: Mutex::new(
                Instant::now()
                    .checked_sub(RELOAD_INTERVAL)
                    .unwrap_or_else(Instant::now),
            ),
        }))
    }

    /// Signs claims as a compact JWT with the newest key.
    pub async fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let loaded = self.loaded.read().await;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(loaded.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &loaded.signing).context("signing an access token")
    }

    /// The public keys as a JWKS document, read from the database so that a
    /// key another instance added is published at once.
    pub async fn jwks(&self) -> anyhow::Result<serde_json::Value> {
        let keys = store::keys::all(self.db.pool())
            .await
            .context("reading signing keys")?;
        Ok(jwks_document(&keys))
    }

    async fn reload(&self) -> anyhow::Result<()> {
        let keys = store::keys::all(self.db.pool()).await?;
        if !keys.is_empty() {
            *self.loaded.write().await = Loaded::from_keys(&keys)?;
        }
        Ok(())
    }
}

impl Loaded {
    fn from_keys(keys: &[store::keys::StoredKey]) -> anyhow::Result<Self> {
        let newest = keys.last().context("no signing key")?;
        let pkcs8 = STANDARD
            .decode(&newest.private_pkcs8)
            .context("decoding the signing key")?;
        let mut verifying = HashMap::new();
        for key in keys {
            verifying.insert(
                key.kid.clone(),
                DecodingKey::from_ed_components(&key.public_key)?,
            );
        }
        Ok(Self {
            signing_kid: newest.kid.clone(),
            signing: EncodingKey::from_ed_der(&pkcs8),
            verifying,
        })
    }
}

impl platform::auth::KeySource for KeyRing {
    fn key<'a>(&'a self, kid: &'a str) -> BoxFuture<'a, Option<DecodingKey>> {
        Box::pin(async move {
            if let Some(key) = self.loaded.read().await.verifying.get(kid) {
                return Some(key.clone());
            }
            // Another instance may have added a key since we loaded ours.
            let mut last = self.last_reload.lock().await;
            if last.elapsed() >= RELOAD_INTERVAL {
                *last = Instant::now();
                if let Err(e) = self.reload().await {
                    tracing::warn!(error.message = %e, "reloading signing keys failed");
                }
            }
            drop(last);
            self.loaded.read().await.verifying.get(kid).cloned()
        })
    }
}

/// A new Ed25519 key pair with a kid derived from its public key.
pub fn generate() -> anyhow::Result<store::keys::StoredKey> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| anyhow::anyhow!("generating an Ed25519 key failed"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| anyhow::anyhow!("reading the generated Ed25519 key failed"))?;
    let public = pair.public_key().as_ref();
    let thumb = digest::digest(&digest::SHA256, public);
    Ok(store::keys::StoredKey {
        kid: URL_SAFE_NO_PAD.encode(&thumb.as_ref()[..12]),
        private_pkcs8: STANDARD.encode(pkcs8.as_ref()),
        public_key: URL_SAFE_NO_PAD.encode(public),
        created_at: platform::time::now_millis(),
    })
}
