//! The account aggregate: who someone is to the shop and how they sign in.

use platform::auth::Role;
use uuid::Uuid;

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// UUIDv7; the `sub` of its access tokens.
    pub id: Uuid,
    /// Lower-cased; unique.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Display name.
    pub name: String,
    /// E.164 phone, for SMS notifications.
    pub phone: Option<String>,
    /// `customer` or `admin`.
    pub role: Role,
    /// Has the user proven the address?
    pub email_verified: bool,
    /// Disabled accounts cannot log in or refresh.
    pub disabled: bool,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}
