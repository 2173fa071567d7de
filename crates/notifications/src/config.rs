//! `[notifications]`: templates, links, channels and retries.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

/// Settings of the notifications service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// This service's own database; unset uses `[database]`.
    pub database_url: Option<SecretString>,
    /// The storefront's address, for links in messages.
    pub public_base_url: String,
    /// The shop's name in greetings and subjects.
    pub shop_name: String,
    /// Sender of email, e.g. `Mercato <shop@example.com>`.
    pub from_email: String,
    /// A folder whose template files replace the built-in ones.
    pub templates_dir: Option<PathBuf>,
    /// `file`, `smtp` or `sendgrid`.
    pub email_channel: String,
    /// `none`, `file` or `twilio`.
    pub sms_channel: String,
    /// Folder of the file sink; unset: `<database.data_dir>/outbox`.
    pub outbox_dir: Option<PathBuf>,
    /// SMTP server host.
    pub smtp_host: String,
    /// SMTP port (465 TLS, 587 STARTTLS, 25 plain).
    pub smtp_port: u16,
    /// `tls`, `starttls` or `none`.
    pub smtp_security: String,
    /// A PEM file of extra root certificates to trust for the SMTP server
    /// (a relay with a private CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// SMTP user (with `smtp_password`), if the server wants one.
    pub smtp_username: Option<String>,
    /// Password for SMTP authentication, with `smtp_username`.
    pub smtp_password: Option<SecretString>,
    /// SendGrid's API base URL.
    pub sendgrid_base_url: String,
    /// SendGrid API key (Mail Send permission).
    pub sendgrid_api_key: Option<SecretString>,
    /// Twilio's API base URL.
    pub twilio_base_url: String,
    /// The Twilio account that sends texts (`AC...`).
    pub twilio_account_sid: Option<String>,
    /// Its auth token, for HTTP basic auth with the SID.
    pub twilio_auth_token: Option<SecretString>,
    /// Sender number (E.164) or messaging service.
    pub twilio_from: Option<String>,
    /// Timeout of one send, in milliseconds.
    pub send_timeout_ms: u64,
    /// Attempts before a delivery is `failed`.
    pub max_attempts: u32,
    /// First retry delay, in milliseconds; doubles per attempt.
    pub retry_base_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub retry_max_ms: u64,
}

impl NotificationsConfig {
    /// Checks values and that each chosen channel has what it needs.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.public_base_url.starts_with("http://")
                || self.public_base_url.starts_with("https://"),
            "notifications.public_base_url must be an http(s) URL"
        );
        anyhow::ensure!(
            self.from_email.parse::<lettre::message::Mailbox>().is_ok(),
            "notifications.from_email must be an address such as `Shop <shop@example.com>`"
        );
        match self.email_channel.as_str() {
            "file" => {}
            "smtp" => {
                anyhow::ensure!(
                    !self.smtp_host.is_empty(),
                    "notifications.smtp_host is required for the smtp channel"
                );
                anyhow::ensure!(
                    ["tls", "starttls", "none"].contains(&self.smtp_security.as_str()),
                    "notifications.smtp_security must be tls, starttls or none"
                );
                anyhow::ensure!(
                    self.smtp_username.is_some() == self.smtp_password.is_some(),
                    "notifications.smtp_username and smtp_password go together"
                );
            }
            "sendgrid" => anyhow::ensure!(
                self.sendgrid_api_key.is_some(),
                "notifications.sendgrid_api_key is required for the sendgrid channel"
            ),
            other => {
                anyhow::bail!("notifications.email_channel `{other}`: use file, smtp or sendgrid")
            }
        }
        match self.sms_channel.as_str() {
            "none" | "file" => {}
            "twilio" => anyhow::ensure!(
                self.twilio_account_sid.is_some()
                    && self.twilio_auth_token.is_some()
                    && self.twilio_from.is_some(),
                "notifications.twilio_account_sid, twilio_auth_token and twilio_from are required for the twilio channel"
            ),
            other => anyhow::bail!("notifications.sms_channel `{other}`: use none, file or twilio"),
        }
        anyhow::ensure!(
            (1..=50).contains(&self.max_attempts),
            "notifications.max_attempts must be within 1..=50"
        );
        anyhow::ensure!(
            self.retry_base_ms >= 1 && self.retry_base_ms <= self.retry_max_ms,
            "notifications.retry_base_ms must be at least 1 and at most retry_max_ms"
        );
        anyhow::ensure!(
            (100..=120_000).contains(&self.send_timeout_ms),
            "notifications.send_timeout_ms must be within 100..=120000"
        );
        if let Some(url) = &self.database_url {
            platform::db::check_url("notifications.database_url", url)?;
        }
        Ok(())
    }
}
