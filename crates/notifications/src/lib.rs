//! The notifications service.
//!
//! Consumes every event a customer should hear about, renders the
//! message for each channel the customer wants (templates in
//! `templates/`, overridable), records each delivery before the first
//! attempt, and sends it through a channel (SMTP, SendGrid, Twilio, or a
//! file sink) with retries. Contact details travel in the events (order
//! and payment events carry the email; users' events carry name, email
//! and phone, kept in `contact`), so no call to users is needed.

pub mod channels;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod module;
pub mod service;
pub mod store;
pub mod templates;

use std::{sync::Arc, time::Duration};

use secrecy::SecretString;
use sqlx::migrate::Migrator;

pub use config::NotificationsConfig;
pub use service::NotificationsService;

/// The service's name: its schema, its SQLite file.
pub const NAME: &str = "notifications";

/// This service's migrations (the same on both engines).
pub fn migrator(_backend: platform::db::Backend) -> Migrator {
    platform::db::migrator(&[
        (
            20_261_126_700_000,
            "create notifications",
            include_str!("../migrations/20261126700000_create_notifications.sql"),
        ),
        eventbus::inbox::MIGRATION,
    ])
}

/// The channels the configuration names; `data_dir` holds the file sink's
/// `outbox/` unless `outbox_dir` says otherwise.
pub fn channels(
    cfg: &NotificationsConfig,
    data_dir: &std::path::Path,
) -> anyhow::Result<service::Channels> {
    use channels::{file::FileSink, sendgrid::SendGrid, smtp, twilio::Twilio};
    let timeout = Duration::from_millis(cfg.send_timeout_ms);
    let outbox = cfg
        .outbox_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("outbox"));
    let missing = |key: &str| anyhow::anyhow!("notifications.{key} is not set");
    let email: Arc<dyn channels::Channel> = match cfg.email_channel.as_str() {
        "smtp" => {
            let security = match cfg.smtp_security.as_str() {
                "tls" => smtp::Security::Tls,
                "none" => smtp::Security::None,
                _ => smtp::Security::StartTls,
            };
            let credentials = cfg.smtp_username.clone().zip(cfg.smtp_password.clone());
            let extra_root = cfg
                .smtp_ca_file
                .as_ref()
                .map(|path| {
                    std::fs::read(path).map_err(|e| {
                        anyhow::anyhow!("notifications.smtp_ca_file {}: {e}", path.display())
                    })
                })
                .transpose()?;
            Arc::new(smtp::Smtp::new(
                &cfg.smtp_host,
                cfg.smtp_port,
                security,
                credentials,
                &cfg.from_email,
                timeout,
                extra_root.as_deref(),
            )?)
        }
        "sendgrid" => Arc::new(SendGrid::new(
            &cfg.sendgrid_base_url,
            cfg.sendgrid_api_key
                .clone()
                .ok_or_else(|| missing("sendgrid_api_key"))?,
            &cfg.from_email,
            timeout,
        )?),
        _ => Arc::new(FileSink::new(outbox.clone(), &cfg.from_email)?),
    };
    let sms: Option<Arc<dyn channels::Channel>> = match cfg.sms_channel.as_str() {
        "twilio" => Some(Arc::new(Twilio::new(
            &cfg.twilio_base_url,
            cfg.twilio_account_sid
                .as_deref()
                .ok_or_else(|| missing("twilio_account_sid"))?,
            cfg.twilio_auth_token
                .clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
            cfg.twilio_from
                .as_deref()
                .ok_or_else(|| missing("twilio_from"))?,
            timeout,
        )?)),
        "file" => Some(Arc::new(FileSink::new(outbox, &cfg.from_email)?)),
        _ => None,
    };
    Ok(service::Channels { email, sms })
}
