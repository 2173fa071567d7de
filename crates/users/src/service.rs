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
        accounts::Account,
        addresses::StoredAddress,
        tokens::{Purpose, RefreshToken},
    },
};

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

    /// Creates a customer account and logs it in.
    pub async fn register(&self, email: &str, password: &str, name: &str) -> Result<Session> {
        let mut errors = Vec::new();
        let email = Email::parse(email)
            .map_err(|e| errors.push(FieldError::new("email", e)))
            .ok();
        let name = Name::parse(name)
            .map_err(|e| errors.push(FieldError::new("name", e)))
            .ok();
        let context: Vec<&str> = [
            email.as_ref().map(Email::as_str),
            name.as_ref().map(Name::as_str),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Err(reason) = password::check_new_password(password, &context) {
            errors.push(FieldError::new("password", reason));
        }
        let (Some(email), Some(name), true) = (email, name, errors.is_empty()) else {
            return Err(UsersError::Validation(errors));
        };
        // Cheap check first so a taken email costs no hashing; the unique
        // constraint still decides under a race.
        if store::accounts::email_exists(self.db.pool(), email.as_str()).await? {
            return Err(UsersError::EmailTaken);
        }
        let hash = self.hash_password(password).await?;
        let now = now_millis();
        let account = Account {
            id: Uuid::now_v7(),
            email: email.as_str().to_owned(),
            password_hash: hash,
            name: name.as_str().to_owned(),
            phone: None,
            role: Role::Customer,
            email_verified: false,
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin_write().await?;
        insert_account(&mut *tx, &account).await?;
        let (token, expires_at) = self.new_verification(&mut tx, &account, now).await?;
        let event = UserRegistered {
            user_id: account.id,
            email: account.email.clone(),
            name: account.name.clone(),
            verification_token: token,
            verification_expires_at: expires_at,
        };
        self.emit(&mut tx, account.id, &event).await?;
        let (refresh, family) = self
            .new_refresh_token(&mut tx, account.id, None, now)
            .await?;
        self.outbox.commit(tx).await?;
        metrics::counter!("users_registered_total").increment(1);
        self.session(account, refresh, family).await
    }

    async fn new_verification(
        &self,
        tx: &mut sqlx::AnyConnection,
        account: &Account,
        now: i64,
    ) -> Result<(String, time::OffsetDateTime)> {
        let token = secret_token::generate().map_err(anyhow::Error::msg)?;
        let expires_at = now + secs_to_ms(self.cfg.email_verification_ttl_secs);
        store::tokens::insert_one_time(
            &mut *tx,
            Purpose::EmailVerification,
            &token.hash,
            account.id,
            now,
            expires_at,
        )
        .await?;
        Ok((token.plain, from_millis(expires_at)))
    }

    /// Appends an event about `user_id` to the outbox in `tx`.
    async fn emit<E: Event>(
        &self,
        tx: &mut sqlx::AnyConnection,
        user_id: Uuid,
        event: &E,
    ) -> Result<()> {
        let envelope = Envelope::new(crate::NAME, user_id, event).context("encoding an event")?;
        self.outbox
            .append(
                tx,
                &envelope.with_trace(platform::telemetry::current_trace_id()),
            )
            .await?;
        Ok(())
    }

    async fn new_refresh_token(
        &self,
        tx: &mut sqlx::AnyConnection,
        account_id: Uuid,
        family: Option<Uuid>,
        now: i64,
    ) -> Result<(String, Uuid)> {
        let token = secret_token::generate().map_err(anyhow::Error::msg)?;
        let family = family.unwrap_or_else(Uuid::now_v7);
        let expires_at = now + secs_to_ms(self.cfg.refresh_token_ttl_days * 86_400);
        store::tokens::insert_refresh(&mut *tx, &token.hash, family, account_id, now, expires_at)
            .await?;
        Ok((token.plain, family))
    }

    async fn session(
        &self,
        account: Account,
        refresh_token: String,
        family: Uuid,
    ) -> Result<Session> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let ttl = self.cfg.access_token_ttl_secs;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account.id.to_string(),
            role: account.role,
            exp: now + i64::try_from(ttl).unwrap_or(900),
            iat: now,
            jti: Uuid::new_v4().to_string(),
            sid: Some(family.to_string()),
            email: Some(account.email.clone()),
        };
        let access_token = self.keys.sign(&claims).await?;
        Ok(Session {
            account,
            access_token,
            refresh_token,
            expires_in: ttl,
        })
    }

    fn limits(&self) -> (Limit, Limit) {
        let window_ms = secs_to_ms(self.cfg.login_window_secs);
        (
            Limit {
                max_failures: self.cfg.login_max_failures_per_account,
                window_ms,
            },
            Limit {
                max_failures: self.cfg.login_max_failures_per_address,
                window_ms,
            },
        )
    }

    /// Logs in with email and password. Unknown email, wrong password and a
    /// disabled account are indistinguishable, in answer and in time.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Session> {
        let email = email.trim().to_lowercase();
        let account_scope = format!("account:{email}");
        let address_scope = client.map(|ip| format!("address:{ip}"));
        let now = now_millis();
        let (account_limit, address_limit) = self.limits();
        let since = now - account_limit.window_ms;
        let mut wait = account_limit.retry_after_secs(
            &store::login_failures::recent(self.db.pool(), &account_scope, since).await?,
            now,
        );
        if let Some(scope) = &address_scope {
            let failures = store::login_failures::recent(self.db.pool(), scope, since).await?;
            wait = wait.max(address_limit.retry_after_secs(&failures, now));
        }
        if let Some(secs) = wait {
            metrics::counter!("users_login_throttled_total").increment(1);
            return Err(UsersError::Throttled(secs));
        }

        let account = store::accounts::find_by_email(self.db.pool(), &email).await?;
        let phc = account
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |a| a.password_hash.as_str());
        let password_ok = self.verify_password(password, phc).await?;
        let account = match account {
            Some(account) if password_ok && !account.disabled => account,
            _ => {
                let mut tx = self.db.begin_write().await?;
                store::login_failures::record(&mut tx, &account_scope, now, since).await?;
                if let Some(scope) = &address_scope {
                    store::login_failures::record(&mut tx, scope, now, since).await?;
                }
                tx.commit().await?;
                metrics::counter!("users_login_failed_total").increment(1);
                return Err(UsersError::InvalidCredentials);
            }
        };
        let mut tx = self.db.begin_write().await?;
        store::login_failures::clear(&mut *tx, &account_scope).await?;
        let (refresh, family) = self
            .new_refresh_token(&mut tx, account.id, None, now)
            .await?;
        tx.commit().await?;
        metrics::counter!("users_login_succeeded_total").increment(1);
        self.session(account, refresh, family).await
    }

    /// Exchanges a refresh token for a new pair. A token presented twice
    /// means it leaked: its whole family is revoked.
    pub async fn refresh(&self, presented: &str) -> Result<Session> {
        let hash = secret_token::hash(presented);
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        let Some(token) = store::tokens::find_refresh(&mut *tx, &hash).await? else {
            return Err(UsersError::InvalidRefreshToken);
        };
        let RefreshToken {
            family_id,
            account_id,
            expires_at,
            used_at,
            revoked_at,
        } = token;
        if revoked_at.is_some() || expires_at <= now {
            return Err(UsersError::InvalidRefreshToken);
        }
        if used_at.is_some() || !store::tokens::mark_refresh_used(&mut *tx, &hash, now).await? {
            store::tokens::revoke_family(&mut *tx, family_id, now).await?;
            tx.commit().await?;
            tracing::warn!(session = %family_id, user.id = %account_id, "refresh token reused; session revoked");
            metrics::counter!("users_refresh_reuse_detected_total").increment(1);
            return Err(UsersError::InvalidRefreshToken);
        }
        let account = store::accounts::find(&mut *tx, account_id).await?;
        let Some(account) = account.filter(|a| !a.disabled) else {
            return Err(UsersError::InvalidRefreshToken);
        };
        let (refresh, family) = self
            .new_refresh_token(&mut tx, account.id, Some(family_id), now)
            .await?;
        tx.commit().await?;
        self.session(account, refresh, family).await
    }

    /// Ends the session the refresh token belongs to. Unknown tokens are ignored.
    pub async fn logout(&self, presented: &str) -> Result<()> {
        let hash = secret_token::hash(presented);
        if let Some(token) = store::tokens::find_refresh(self.db.pool(), &hash).await? {
            store::tokens::revoke_family(self.db.pool(), token.family_id, now_millis()).await?;
        }
        Ok(())
    }

    /// Emits a reset token for the account, if there is one; the caller
    /// answers the same either way.
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let Ok(email) = Email::parse(email) else {
            return Err(UsersError::field("email", "is not an email address"));
        };
        let Some(account) = store::accounts::find_by_email(self.db.pool(), email.as_str()).await?
        else {
            return Ok(());
        };
        if account.disabled {
            return Ok(());
        }
        let now = now_millis();
        let token = secret_token::generate().map_err(anyhow::Error::msg)?;
        let expires_at = now + secs_to_ms(self.cfg.password_reset_ttl_secs);
        let mut tx = self.db.begin_write().await?;
        store::tokens::insert_one_time(
            &mut *tx,
            Purpose::PasswordReset,
            &token.hash,
            account.id,
            now,
            expires_at,
        )
        .await?;
        let event = PasswordResetRequested {
            user_id: account.id,
            email: account.email.clone(),
            name: account.name.clone(),
            reset_token: token.plain,
            expires_at: from_millis(expires_at),
        };
        self.emit(&mut tx, account.id, &event).await?;
        self.outbox.commit(tx).await?;
        Ok(())
    }

    /// Sets a new password with a reset token, and ends every session.
    pub async fn confirm_password_reset(&self, token: &str, new_password: &str) -> Result<()> {
        let hash = secret_token::hash(token);
        let now = now_millis();
        let account_id =
            store::tokens::peek_one_time(self.db.pool(), Purpose::PasswordReset, &hash, now)
                .await?
                .ok_or(UsersError::InvalidOneTimeToken)?;
        let account = store::accounts::find(self.db.pool(), account_id)
            .await?
            .ok_or(UsersError::InvalidOneTimeToken)?;
        Self::check_password(
            new_password,
            "new_password",
            &[&account.email, &account.name],
        )?;
        let password_hash = self.hash_password(new_password).await?;
        let mut tx = self.db.begin_write().await?;
        if store::tokens::consume_one_time(&mut tx, Purpose::PasswordReset, &hash, now)
            .await?
            .is_none()
        {
            return Err(UsersError::InvalidOneTimeToken);
        }
        store::accounts::set_password(&mut *tx, account.id, &password_hash, now).await?;
        store::tokens::expire_all_one_time(&mut *tx, Purpose::PasswordReset, account.id, now)
            .await?;
        store::tokens::revoke_account(&mut *tx, account.id, None, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks the email verified with a mailed token.
    pub async fn verify_email(&self, token: &str) -> Result<()> {
        let hash = secret_token::hash(token);
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        let account_id =
            store::tokens::consume_one_time(&mut tx, Purpose::EmailVerification, &hash, now)
                .await?
                .ok_or(UsersError::InvalidOneTimeToken)?;
        store::accounts::set_email_verified(&mut *tx, account_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends another verification mail.
    pub async fn request_email_verification(&self, caller: &AuthUser) -> Result<()> {
        let account = self.me(caller.id).await?;
        if account.email_verified {
            return Err(UsersError::AlreadyVerified);
        }
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        let (token, expires_at) = self.new_verification(&mut tx, &account, now).await?;
        let event = EmailVerificationRequested {
            user_id: account.id,
            email: account.email.clone(),
            name: account.name.clone(),
            verification_token: token,
            verification_expires_at: expires_at,
        };
        self.emit(&mut tx, account.id, &event).await?;
        self.outbox.commit(tx).await?;
        Ok(())
    }

    /// The caller's own account; 401 if it was disabled or removed since
    /// the token was issued.
    pub async fn me(&self, id: Uuid) -> Result<Account> {
        store::accounts::find(self.db.pool(), id)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(UsersError::AccountUnavailable)
    }

    /// Updates name and phone (`Some(None)` clears the phone).
    pub async fn update_profile(
        &self,
        id: Uuid,
        name: Option<&str>,
        phone: Option<Option<&str>>,
    ) -> Result<Account> {
        let mut tx = self.db.begin_write().await?;
        let mut account = store::accounts::lock(&mut tx, id)
            .await?
            .ok_or(UsersError::NotFound("user"))?;
        let mut errors = Vec::new();
        if let Some(name) = name {
            match Name::parse(name) {
                Ok(name) => account.name = name.as_str().to_owned(),
                Err(e) => errors.push(FieldError::new("name", e)),
            }
        }
        match phone {
            Some(Some(phone)) => match Phone::parse(phone) {
                Ok(phone) => account.phone = Some(phone.as_str().to_owned()),
                Err(e) => errors.push(FieldError::new("phone", e)),
            },
            Some(None) => account.phone = None,
            None => {}
        }
        if !errors.is_empty() {
            return Err(UsersError::Validation(errors));
        }
        account.updated_at = now_millis();
        store::accounts::update_profile(&mut *tx, &account).await?;
        let event = UserProfileUpdated {
            user_id: account.id,
            email: account.email.clone(),
            name: account.name.clone(),
            phone: account.phone.clone(),
        };
        self.emit(&mut tx, account.id, &event).await?;
        self.outbox.commit(tx).await?;
        Ok(account)
    }

    /// Changes the password and ends every other session.
    pub async fn change_password(&self, caller: &AuthUser, current: &str, new: &str) -> Result<()> {
        let account = self.me(caller.id).await?;
        if !self
            .verify_password(current, &account.password_hash)
            .await?
        {
            return Err(UsersError::WrongPassword);
        }
        Self::check_password(new, "new_password", &[&account.email, &account.name])?;
        let hash = self.hash_password(new).await?;
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        store::accounts::set_password(&mut *tx, account.id, &hash, now).await?;
        store::tokens::revoke_account(&mut *tx, account.id, caller.session, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller's address book.
    pub async fn addresses(&self, caller: &AuthUser) -> Result<Vec<StoredAddress>> {
        Ok(store::addresses::list(self.db.pool(), caller.id).await?)
    }

    /// Adds an address.
    pub async fn add_address(
        &self,
        caller: &AuthUser,
        input: &AddressInput<'_>,
    ) -> Result<StoredAddress> {
        let address = Address::parse(input).map_err(UsersError::Validation)?;
        let now = now_millis();
        let stored = StoredAddress {
            id: Uuid::now_v7(),
            account_id: caller.id,
            address,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin_write().await?;
        // The account's lock makes the count and the insert one step for
        // concurrent additions.
        if store::accounts::lock(&mut tx, caller.id).await?.is_none() {
            return Err(UsersError::NotFound("user"));
        }
        if store::addresses::count(&mut *tx, caller.id).await? >= MAX_ADDRESSES {
            // Full is a state of the book, not a fault of this address.
            return Err(UsersError::AddressBookFull);
        }
        store::addresses::insert(&mut *tx, &stored).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Changes some fields of an address.
    pub async fn update_address(
        &self,
        caller: &AuthUser,
        id: Uuid,
        patch: &AddressPatch,
    ) -> Result<StoredAddress> {
        let mut tx = self.db.begin_write().await?;
        let mut stored = store::addresses::lock(&mut tx, caller.id, id)
            .await?
            .ok_or(UsersError::NotFound("address"))?;
        stored.address = stored
            .address
            .patched(patch)
            .map_err(UsersError::Validation)?;
        stored.updated_at = now_millis();
        store::addresses::update(&mut *tx, &stored).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Removes an address.
    pub async fn delete_address(&self, caller: &AuthUser, id: Uuid) -> Result<()> {
        if store::addresses::delete(self.db.pool(), caller.id, id).await? {
            Ok(())
        } else {
            Err(UsersError::NotFound("address"))
        }
    }

    /// Accounts for admins, newest first.
    pub async fn list_accounts(
        &self,
        email: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Account>> {
        let rows = store::accounts::list(
            self.db.pool(),
            email,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        Ok(Page::from_rows(rows, page, |a| a.id.to_string()))
    }

    /// One account, for admins.
    pub async fn account(&self, id: Uuid) -> Result<Account> {
        store::accounts::find(self.db.pool(), id)
            .await?
            .ok_or(UsersError::NotFound("user"))
    }

    /// Changes role or disabled flag; disabling ends every session.
    pub async fn change_access(
        &self,
        admin: &AuthUser,
        id: Uuid,
        change: AccessChange,
    ) -> Result<Account> {
        let demotes_self =
            change.role.is_some_and(|r| r != Role::Admin) || change.disabled == Some(true);
        if id == admin.id && demotes_self {
            return Err(UsersError::SelfLockout);
        }
        let mut tx = self.db.begin_write().await?;
        let mut account = store::accounts::lock(&mut tx, id)
            .await?
            .ok_or(UsersError::NotFound("user"))?;
        let now = now_millis();
        account.role = change.role.unwrap_or(account.role);
        account.disabled = change.disabled.unwrap_or(account.disabled);
        account.updated_at = now;
        store::accounts::update_access(&mut *tx, &account).await?;
        if account.disabled {
            store::tokens::revoke_account(&mut *tx, account.id, None, now).await?;
        }
        tx.commit().await?;
        tracing::info!(target_user = %account.id, role = account.role.as_str(), disabled = account.disabled, "account access changed");
        Ok(account)
    }

    /// Forgets failed logins that left the throttling window, and expired
    /// or used one-time tokens, so that a spray of made-up emails cannot
    /// grow the tables for ever. Returns the rows removed.
    pub async fn prune(&self) -> Result<u64> {
        let now = now_millis();
        let failures = store::login_failures::prune(
            self.db.pool(),
            now - secs_to_ms(self.cfg.login_window_secs),
        )
        .await?;
        let tokens = store::tokens::prune(self.db.pool(), now).await?;
        Ok(failures + tokens)
    }

    /// Creates an admin account (CLI and bootstrap). Fails if the email is taken.
    pub async fn create_admin(&self, email: &str, password: &str) -> Result<Account> {
        let email = Email::parse(email).map_err(|e| UsersError::field("email", e))?;
        Self::check_password(password, "password", &[email.as_str()])?;
        if store::accounts::email_exists(self.db.pool(), email.as_str()).await? {
            return Err(UsersError::EmailTaken);
        }
        let now = now_millis();
        let account = Account {
            id: Uuid::now_v7(),
            email: email.as_str().to_owned(),
            password_hash: self.hash_password(password).await?,
            name: "Administrator".to_owned(),
            phone: None,
            role: Role::Admin,
            // The operator typed this address; there is no one to mail.
            email_verified: true,
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        insert_account(self.db.pool(), &account).await?;
        Ok(account)
    }

    /// Creates the configured admin if it does not exist yet.
    pub async fn bootstrap_admin(&self) -> anyhow::Result<()> {
        let (Some(email), Some(password)) = (&self.cfg.admin_email, &self.cfg.admin_password)
        else {
            return Ok(());
        };
        match self.create_admin(email, password.expose_secret()).await {
            Ok(account) => {
                tracing::info!(user.id = %account.id, "created the configured admin account")
            }
            Err(UsersError::EmailTaken) => {}
            Err(UsersError::Validation(errors)) => {
                anyhow::bail!(
                    "users.admin_password is not accepted: {}",
                    errors.first().map_or("", |e| e.message.as_str())
                )
            }
            Err(e) => return Err(anyhow::anyhow!("creating the configured admin: {e}")),
        }
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

/// Prunes the users tables every ten minutes until `shutdown`.
pub async fn run_janitor(
    service: Arc<UsersService>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        match service.prune().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "pruned stale login failures and tokens"),
            Err(e) => tracing::warn!(error.message = %e, "pruning the users tables failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(600)) => {},
            () = shutdown.cancelled() => return,
        }
    }
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(Duration::from_secs(secs).as_millis()).unwrap_or(i64::MAX)
}
