//! Accounts as admins see them, roles and status, the bootstrap admin, and the
//! janitor's pruning.

use super::*;

impl UsersService {
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
        self.create_verified(email, password, "Administrator", Role::Admin)
            .await
    }

    /// An account whose address the operator vouches for (no mail).
    async fn create_verified(
        &self,
        email: &str,
        password: &str,
        name: &str,
        role: Role,
    ) -> Result<Account> {
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
            name: name.to_owned(),
            phone: None,
            role,
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

    /// Creates the configured demo customer if it does not exist yet.
    pub async fn bootstrap_demo_customer(&self) -> anyhow::Result<()> {
        let (Some(email), Some(password)) = (
            &self.cfg.demo_customer_email,
            &self.cfg.demo_customer_password,
        ) else {
            return Ok(());
        };
        match self
            .create_verified(
                email,
                password.expose_secret(),
                "Demo Customer",
                Role::Customer,
            )
            .await
        {
            Ok(account) => {
                tracing::info!(user.id = %account.id, "created the configured demo customer");
                Ok(())
            }
            Err(UsersError::EmailTaken) => Ok(()),
            Err(e) => Err(anyhow::anyhow!(
                "creating the configured demo customer: {e}"
            )),
        }
    }
}
