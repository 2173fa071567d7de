//! Email verification and password reset: single-use tokens sent by mail.

use super::*;

impl UsersService {
    pub(super) async fn new_verification(
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
}
