//! `[users]`: the users service's own settings.

use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the users service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersConfig {
    /// This service's own database (postgres:// or sqlite:); unset uses
    /// `[database]` (a schema on the shared server, or `users.db` in the data folder).
    pub database_url: Option<SecretString>,
    /// Access-token lifetime in seconds.
    pub access_token_ttl_secs: u64,
    /// Refresh-token lifetime in days.
    pub refresh_token_ttl_days: u64,
    /// Password-reset token lifetime in seconds.
    pub password_reset_ttl_secs: u64,
    /// Email-verification token lifetime in seconds.
    pub email_verification_ttl_secs: u64,
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// argon2id passes (OWASP: 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Failed logins allowed per account within the window.
    pub login_max_failures_per_account: u32,
    /// Failed logins allowed per client address within the window.
    pub login_max_failures_per_address: u32,
    /// The throttling window, in seconds.
    pub login_window_secs: u64,
    /// Email of an admin account created at start if missing.
    pub admin_email: Option<String>,
    /// Password of that admin account.
    pub admin_password: Option<SecretString>,
    /// Email of a demo customer account created at start if missing (the
    /// demo shop's, so that a first look can log in straight away).
    pub demo_customer_email: Option<String>,
    /// Password of that customer.
    pub demo_customer_password: Option<SecretString>,
}

impl UsersConfig {
    /// Checks ranges and pairs of settings.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (60..=86_400).contains(&self.access_token_ttl_secs),
            "users.access_token_ttl_secs must be within 60..=86400"
        );
        anyhow::ensure!(
            (1..=365).contains(&self.refresh_token_ttl_days),
            "users.refresh_token_ttl_days must be within 1..=365"
        );
        anyhow::ensure!(
            (60..=604_800).contains(&self.password_reset_ttl_secs),
            "users.password_reset_ttl_secs must be within 60..=604800"
        );
        anyhow::ensure!(
            (60..=2_592_000).contains(&self.email_verification_ttl_secs),
            "users.email_verification_ttl_secs must be within 60..=2592000"
        );
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("users.argon2_*: {e}"))?;
        anyhow::ensure!(
            self.login_max_failures_per_account >= 1 && self.login_max_failures_per_address >= 1,
            "users.login_max_failures_* must be at least 1"
        );
        anyhow::ensure!(
            (1..=86_400).contains(&self.login_window_secs),
            "users.login_window_secs must be within 1..=86400"
        );
        anyhow::ensure!(
            self.admin_email.is_some() == self.admin_password.is_some(),
            "users.admin_email and users.admin_password must be set together"
        );
        anyhow::ensure!(
            self.demo_customer_email.is_some() == self.demo_customer_password.is_some(),
            "users.demo_customer_email and users.demo_customer_password must be set together"
        );
        if let Some(email) = &self.admin_email {
            crate::domain::Email::parse(email)
                .map_err(|e| anyhow::anyhow!("users.admin_email {e}"))?;
        }
        if let Some(url) = &self.database_url {
            platform::db::check_url("users.database_url", url)?;
        }
        Ok(())
    }

    /// The argon2id cost.
    pub fn hash_cost(&self) -> crate::domain::password::HashCost {
        crate::domain::password::HashCost {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        }
    }
}
