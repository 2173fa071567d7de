//! Events of the users service.
//!
//! Tokens travel in the events because notifications must put them in the
//! mail; the users database keeps only their hashes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Event;

/// `user.registered`: a new account; mail the welcome and verification link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRegistered {
    /// The account.
    pub user_id: Uuid,
    /// Where to mail.
    pub email: String,
    /// Greeting.
    pub name: String,
    /// Goes in the verification link.
    pub verification_token: String,
    /// When the link stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub verification_expires_at: OffsetDateTime,
}

impl Event for UserRegistered {
    const TYPE: &'static str = "user.registered";
}

/// `user.email_verification_requested`: mail another verification link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailVerificationRequested {
    /// The account.
    pub user_id: Uuid,
    /// Where to mail.
    pub email: String,
    /// Greeting.
    pub name: String,
    /// Goes in the verification link.
    pub verification_token: String,
    /// When the link stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub verification_expires_at: OffsetDateTime,
}

impl Event for EmailVerificationRequested {
    const TYPE: &'static str = "user.email_verification_requested";
}

/// `user.password_reset_requested`: mail the reset link (sent even to
/// customers who opted out of mail: it is what they asked for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordResetRequested {
    /// The account.
    pub user_id: Uuid,
    /// Where to mail.
    pub email: String,
    /// Greeting.
    pub name: String,
    /// Goes in the reset link.
    pub reset_token: String,
    /// When the link stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Event for PasswordResetRequested {
    const TYPE: &'static str = "user.password_reset_requested";
}

/// `user.profile_updated`: the account's contact details now; services
/// that write to the customer keep their own copy (notifications texts the
/// phone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfileUpdated {
    /// The account.
    pub user_id: Uuid,
    /// Where to mail.
    pub email: String,
    /// Greeting.
    pub name: String,
    /// E.164 phone, if given.
    pub phone: Option<String>,
}

impl Event for UserProfileUpdated {
    const TYPE: &'static str = "user.profile_updated";
}
