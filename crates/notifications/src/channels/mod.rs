//! Channels that carry a message out: email over SMTP or the SendGrid
//! API, SMS over Twilio, and a file sink for development. Each says
//! whether a failure is worth retrying.

pub mod file;
pub mod sendgrid;
pub mod smtp;
pub mod twilio;

use futures::future::BoxFuture;
use uuid::Uuid;

/// A message ready to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// An email.
    Email {
        /// Recipient address.
        to: String,
        /// Subject line.
        subject: String,
        /// Plain-text body.
        text: String,
        /// HTML body.
        html: Option<String>,
    },
    /// A text message.
    Sms {
        /// E.164 number.
        to: String,
        /// The text.
        body: String,
    },
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying (timeouts, 4xx SMTP replies, 429 and 5xx HTTP).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Retrying will not help (5xx SMTP replies, other 4xx HTTP).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// A channel.
pub trait Channel: Send + Sync + 'static {
    /// `smtp`, `sendgrid`, `twilio`, `file`.
    fn name(&self) -> &'static str;

    /// Sends; returns the provider's message id when it gives one.
    fn send<'a>(
        &'a self,
        delivery_id: Uuid,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Option<String>, SendError>>;
}

/// Classifies an HTTP provider's answer: 429 and 5xx are retried.
pub fn http_failure(status: reqwest::StatusCode, body: &str) -> SendError {
    let detail = format!("{status}: {}", body.chars().take(300).collect::<String>());
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        SendError::Transient(detail)
    } else {
        SendError::Permanent(detail)
    }
}
