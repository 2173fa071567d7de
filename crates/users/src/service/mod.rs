//! The users service's use cases: each validates with the domain, persists
//! through the store in one transaction (with its outbox events), and
//! returns what the handler answers with. No HTTP here.

use std::{net::IpAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use contracts::events::{
    Event,
    users::{
        EmailVerificationRequested, PasswordResetRequested, UserProfileUpdated, UserRegistered,
    },
};
use eventbus::{Envelope, outbox::Outbox};
use platform::{
    FieldError,
    auth::{AuthUser, Claims, Role},
    config::AuthConfig,
    db::{self, Db},
    http::pagination::{Page, PageRequest},
    time::{from_millis, now_millis},
};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use crate::{
    config::UsersConfig,
    domain::account::Account,
    domain::{
        Address, Email, Name, Phone,
        address::{AddressInput, AddressPatch},
        password::{self, PasswordHasher},
        secret_token,
        throttle::Limit,
    },
    error::{Result, UsersError},
    hashing::HashWorkers,
    keys::KeyRing,
    store::{
        self,
        addresses::StoredAddress,
        tokens::{Purpose, RefreshToken},
    },
};

mod admin;
mod profile;
mod recovery;
mod sessions;

/// Most addresses one account may keep.
pub const MAX_ADDRESSES: i64 = 50;

/// A logged-in session handed to the client.
#[derive(Debug)]
pub struct Session {
    /// The account.
    pub account: Account,
    /// Short-lived JWT.
    pub access_token: String,
    /// Long-lived opaque token, rotated on every use.
    pub refresh_token: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

/// Changes an admin may make to an account.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessChange {
    /// New role.
    pub role: Option<Role>,
    /// Disable or re-enable.
    pub disabled: Option<bool>,
}

/// The users service.
pub struct UsersService {
    db: Db,
    outbox: Arc<Outbox>,
    cfg: UsersConfig,
    issuer: String,
    audience: String,
    keys: Arc<KeyRing>,
    hasher: PasswordHasher,
    /// One argon2 thread per core, off the async runtime.
    hash_workers: HashWorkers,
    /// Verified against when the email is unknown, so that an unknown email
    /// costs the same time as a wrong password.
    dummy_hash: String,
}

impl std::fmt::Debug for UsersService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsersService").finish_non_exhaustive()
    }
}

impl UsersService {
    /// Builds the service over a migrated database.
    pub async fn new(db: Db, cfg: UsersConfig, auth: &AuthConfig) -> anyhow::Result<Self> {
        let keys = KeyRing::load_or_create(db.clone()).await?;
        let hasher = PasswordHasher::new(cfg.hash_cost()).map_err(anyhow::Error::msg)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hash_workers = HashWorkers::new(cores)?;
        let dummy = hasher.clone();
        let dummy_hash = hash_workers
            .run(move || dummy.hash("mercato-timing-equaliser"))
            .await
            .context("the hashing workers are gone")?
            .map_err(anyhow::Error::msg)?;
        Ok(Self {
            outbox: Outbox::new(db.clone(), crate::NAME),
            db,
            cfg,
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            keys,
            hasher,
            hash_workers,
            dummy_hash,
        })
    }

    /// The signing keys, which also verify tokens in-process.
    pub fn keys(&self) -> Arc<KeyRing> {
        self.keys.clone()
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The outbox its events go through.
    pub fn outbox(&self) -> Arc<Outbox> {
        self.outbox.clone()
    }

    async fn hash_password(&self, password: &str) -> Result<String> {
        let hasher = self.hasher.clone();
        let password = password.to_owned();
        self.hash_workers
            .run(move || hasher.hash(&password))
            .await
            .context("the hashing workers are gone")?
            .map_err(|e| UsersError::Unexpected(anyhow::anyhow!("hashing failed: {e}")))
    }

    async fn verify_password(&self, password: &str, phc: &str) -> Result<bool> {
        let hasher = self.hasher.clone();
        let (password, phc) = (password.to_owned(), phc.to_owned());
        let ok = self
            .hash_workers
            .run(move || hasher.verify(&password, &phc))
            .await
            .context("the hashing workers are gone")?;
        Ok(ok)
    }

    fn check_password(password: &str, field: &str, context: &[&str]) -> Result<()> {
        password::check_new_password(password, context)
            .map_err(|reason| UsersError::field(field, reason))
    }

    /// Appends an event about `user_id` to the outbox in `tx`.
    async fn emit<E: Event>(
        &self,
        tx: &mut sqlx::AnyConnection,
        user_id: Uuid,
        event: &E,
    ) -> Result<()> {
        let envelope = Envelope::new(crate::NAME, user_id, event).context("encoding an event")?;
        self.outbox.append(tx, &envelope).await?;
        Ok(())
    }
}

/// Inserts an account; the unique email constraint decides a race.
async fn insert_account<'c>(ex: impl store::Exec<'c>, account: &Account) -> Result<()> {
    store::accounts::insert(ex, account).await.map_err(|e| {
        if db::is_unique_violation(&e, store::accounts::EMAIL_KEY, "account.email") {
            UsersError::EmailTaken
        } else {
            e.into()
        }
    })
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(Duration::from_secs(secs).as_millis()).unwrap_or(i64::MAX)
}
