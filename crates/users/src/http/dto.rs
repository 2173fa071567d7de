//! Request and response bodies of the users API. Requests deny unknown
//! fields, so a client cannot slip in `role` or `email_verified`.

use platform::{auth::Role, time::from_millis};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{domain::account::Account, service::Session, store::addresses::StoredAddress};

/// `POST /auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIn {
    /// Login email (compared case-insensitively).
    #[schema(schema_with = platform::http::schema::email)]
    pub email: String,
    /// 8 to 128 characters, not easily guessed.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// Display name, up to 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
}

/// `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    /// Login email.
    pub email: String,
    /// Checked against the stored hash; never logged.
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// `POST /auth/password-reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestIn {
    /// The account's email.
    #[schema(schema_with = platform::http::schema::email)]
    pub email: String,
}

/// `POST /auth/password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmIn {
    /// The token from the reset mail.
    pub token: String,
    /// The new password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// `POST /auth/verify-email`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailIn {
    /// The token from the verification mail.
    pub token: String,
}

/// `PATCH /users/me`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileIn {
    /// New display name.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: Option<String>,
    /// New phone in E.164 form (spaces, dots, dashes and brackets are
    /// dropped); null removes it.
    #[serde(default, deserialize_with = "platform::http::extract::present")]
    #[schema(value_type = Option<String>, pattern = r"^[ .()-]*\+[ .()-]*[1-9](?:[ .()-]*[0-9]){7,14}[ .()-]*$")]
    pub phone: Option<Option<String>>,
}

/// `POST /users/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeIn {
    /// The password in use.
    pub current_password: String,
    /// The new password.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// `PATCH /users/{id}` (admin).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessIn {
    /// New role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Disable (true) or re-enable (false).
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// An account as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Its id, as its URLs carry it.
    pub id: Uuid,
    /// Email, lower-cased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Phone (E.164), if given.
    pub phone: Option<String>,
    /// `customer` or `admin`.
    pub role: Role,
    /// Has the email been verified?
    pub email_verified: bool,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Account> for UserOut {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            email: a.email,
            name: a.name,
            phone: a.phone,
            role: a.role,
            email_verified: a.email_verified,
            disabled: a.disabled,
            created_at: from_millis(a.created_at),
            updated_at: from_millis(a.updated_at),
        }
    }
}

/// A login session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokensOut {
    /// The account.
    pub user: UserOut,
    /// EdDSA JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque, single use: exchange it at `/auth/refresh`.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Always `Bearer`.
    pub token_type: &'static str,
}

impl From<Session> for TokensOut {
    fn from(s: Session) -> Self {
        Self {
            user: s.account.into(),
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_in: s.expires_in,
            token_type: "Bearer",
        }
    }
}

/// A postal address (request body of `POST /users/me/addresses`).
pub use platform::address::AddressFields as AddressIn;

/// Partial address update; null clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressPatchIn {
    /// Recipient.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub name: Option<String>,
    /// Street and number.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub line1: Option<String>,
    /// Flat, floor, company.
    #[serde(default, deserialize_with = "platform::http::extract::present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub line2: Option<Option<String>>,
    /// City.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, deserialize_with = "platform::http::extract::present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub region: Option<Option<String>>,
    /// Postal code.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 20,
        pattern = r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]"
    )]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    #[schema(schema_with = platform::http::schema::optional_country)]
    pub country: Option<String>,
    /// Phone for the carrier.
    #[serde(default, deserialize_with = "platform::http::extract::present")]
    #[schema(value_type = Option<String>, max_length = 32)]
    pub phone: Option<Option<String>>,
}

/// An address-book entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressOut {
    /// Its id, as its URLs carry it.
    pub id: Uuid,
    /// Recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, company.
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State or province.
    pub region: Option<String>,
    /// Postal or ZIP code, as the country writes it.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Phone for the carrier.
    pub phone: Option<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<StoredAddress> for AddressOut {
    fn from(s: StoredAddress) -> Self {
        let a = s.address;
        Self {
            id: s.id,
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
            created_at: from_millis(s.created_at),
            updated_at: from_millis(s.updated_at),
        }
    }
}

/// A whole list (`next_cursor` is always null).
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressList {
    /// Every address.
    pub items: Vec<AddressOut>,
    /// Always null: the list is whole.
    pub next_cursor: Option<String>,
}

/// One page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// Users, newest first.
    pub items: Vec<UserOut>,
    /// Cursor of the next page, or null.
    pub next_cursor: Option<String>,
}

/// `GET /users` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Part of the email, case-insensitive.
    pub email: Option<String>,
    /// 1..=100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// From the previous page.
    pub cursor: Option<String>,
}
