//! Events the users service publishes, written to its outbox in the same
//! transaction as the change they announce.
//!
//! | type | data |
//! |---|---|
//! | `user.registered` | `user_id, email, name, verification_token, verification_expires_at` |
//! | `user.email_verification_requested` | `user_id, email, name, verification_token, verification_expires_at` |
//! | `user.password_reset_requested` | `user_id, email, name, reset_token, expires_at` |
//!
//! Tokens travel in the event because notifications must put them in the
//! mail; the database keeps only their hashes.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store;

/// An event of the users service.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum UserEvent {
    /// A new account (carries the email-verification token).
    Registered(VerificationData),
    /// The user asked for another verification mail.
    EmailVerificationRequested(VerificationData),
    /// The user asked to reset the password.
    PasswordResetRequested(ResetData),
}

/// Data of the verification events.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationData {
    /// Account.
    pub user_id: Uuid,
    /// Address to mail.
    pub email: String,
    /// Greeting.
    pub name: String,
    /// Put in the verification link.
    pub verification_token: String,
    /// When the link stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub verification_expires_at: OffsetDateTime,
}

/// Data of `user.password_reset_requested`.
#[derive(Debug, Clone, Serialize)]
pub struct ResetData {
    /// Account.
    pub user_id: Uuid,
    /// Address to mail.
    pub email: String,
    /// Greeting.
    pub name: String,
    /// Put in the reset link.
    pub reset_token: String,
    /// When the link stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl UserEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Registered(_) => "user.registered",
            Self::EmailVerificationRequested(_) => "user.email_verification_requested",
            Self::PasswordResetRequested(_) => "user.password_reset_requested",
        }
    }

    fn user_id(&self) -> Uuid {
        match self {
            Self::Registered(d) | Self::EmailVerificationRequested(d) => d.user_id,
            Self::PasswordResetRequested(d) => d.user_id,
        }
    }
}

/// Writes the event's envelope `{id, type, source, occurred_at, data, trace}`
/// to the outbox inside the caller's transaction.
pub async fn record(tx: &mut sqlx::AnyConnection, event: &UserEvent) -> anyhow::Result<()> {
    let id = Uuid::now_v7();
    let now = OffsetDateTime::now_utc();
    let envelope = serde_json::json!({
        "id": id,
        "type": event.event_type(),
        "source": "users",
        "occurred_at": now.format(&time::format_description::well_known::Rfc3339)?,
        "data": event,
        "trace": serde_json::Value::Null,
    });
    store::outbox::append(
        tx,
        &id.to_string(),
        event.event_type(),
        &event.user_id().to_string(),
        &envelope.to_string(),
        platform::time::to_millis(now),
    )
    .await?;
    Ok(())
}
