//! Registration, sign-in with its throttle, refresh-token rotation and sign-out.

use super::*;

impl UsersService {
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
}
