//! The users service's errors and their problem+json form. Codes `IDN-*`:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | IDN-0001 | 409 | email already registered |
//! | IDN-0002 | 401 | wrong email or password, or disabled account |
//! | IDN-0003 | 401 | refresh token unknown, used, revoked or expired |
//! | IDN-0004 | 422 | reset or verification token unknown, used or expired |
//! | IDN-0005 | 403 | current password is wrong |
//! | IDN-0006 | 429 | too many failed logins |
//! | IDN-0007 | 404 | no such user or address |
//! | IDN-0008 | 409 | the change would lock the caller out |
//! | IDN-0009 | 409 | email already verified |
//! | IDN-0010 | 409 | the address book is full (50 addresses) |

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{FieldError, Problem};

/// Everything a users request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// Fields failed validation.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// The email is registered already.
    #[error("email taken")]
    EmailTaken,
    /// Login refused; deliberately vague.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The refresh token cannot be used.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A mailed token cannot be used.
    #[error("invalid one-time token")]
    InvalidOneTimeToken,
    /// Password change with a wrong current password.
    #[error("wrong current password")]
    WrongPassword,
    /// Too many failed logins.
    #[error("throttled for {0} s")]
    Throttled(u64),
    /// Not found (or not the caller's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The account behind a valid token is gone or disabled.
    #[error("account unavailable")]
    AccountUnavailable,
    /// An admin tried to demote or disable themselves.
    #[error("self lock-out")]
    SelfLockout,
    /// Verification requested for a verified email.
    #[error("already verified")]
    AlreadyVerified,
    /// The address book holds its most addresses already.
    #[error("address book full")]
    AddressBookFull,
    /// A problem the shared plumbing decided (shared validation,
    /// idempotency): answered as it is, whatever its status.
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    /// Anything else: logged, answered as an opaque 500.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for UsersError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(e).context("database"))
    }
}

/// Result of a users operation.
pub type Result<T, E = UsersError> = std::result::Result<T, E>;

impl UsersError {
    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    fn problem(&self) -> Problem {
        let p = |status, slug, code, title| Problem::new(status, slug, code, title);
        match self {
            Self::Validation(errors) => Problem::validation(errors.clone()),
            Self::EmailTaken => p(
                StatusCode::CONFLICT,
                "users/email-taken",
                "IDN-0001",
                "Email already registered",
            )
            .detail("An account with this email exists. Log in or reset the password."),
            Self::InvalidCredentials => {
                let mut problem = p(
                    StatusCode::UNAUTHORIZED,
                    "users/invalid-credentials",
                    "IDN-0002",
                    "Invalid credentials",
                )
                .detail("The email or password is wrong.");
                problem.bearer_challenge = true;
                problem
            }
            Self::InvalidRefreshToken => {
                let mut problem = p(
                    StatusCode::UNAUTHORIZED,
                    "users/invalid-refresh-token",
                    "IDN-0003",
                    "Invalid refresh token",
                )
                .detail("The refresh token is unknown, used, revoked or expired. Log in again.");
                problem.bearer_challenge = true;
                problem
            }
            Self::InvalidOneTimeToken => {
                let mut problem = Problem::invalid_field("token", "is unknown, used or expired");
                problem.code = "IDN-0004".into();
                problem
            }
            Self::WrongPassword => p(
                StatusCode::FORBIDDEN,
                "users/wrong-password",
                "IDN-0005",
                "Wrong password",
            )
            .detail("The current password is wrong."),
            Self::Throttled(secs) => {
                let mut problem =
                    Problem::too_many_requests(*secs, "Too many failed logins. Try again later.");
                problem.code = "IDN-0006".into();
                problem
            }
            Self::NotFound(what) => {
                let mut problem = Problem::not_found(format!("No such {what}."));
                problem.code = "IDN-0007".into();
                problem
            }
            Self::AccountUnavailable => Problem::unauthorized("The account is disabled or gone."),
            Self::SelfLockout => p(
                StatusCode::CONFLICT,
                "users/self-lockout",
                "IDN-0008",
                "Would lock you out",
            )
            .detail("Admins cannot disable themselves or remove their own admin role."),
            Self::AlreadyVerified => p(
                StatusCode::CONFLICT,
                "users/already-verified",
                "IDN-0009",
                "Already verified",
            )
            .detail("This email address is verified already."),
            Self::AddressBookFull => p(
                StatusCode::CONFLICT,
                "users/address-book-full",
                "IDN-0010",
                "Address book full",
            )
            .detail(format!(
                "An address book holds at most {} addresses; delete one first.",
                crate::service::MAX_ADDRESSES
            )),
            Self::Problem(problem) => (**problem).clone(),
            Self::Unexpected(e) => Problem::unexpected(e),
        }
    }
}

impl IntoResponse for UsersError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}

impl From<Problem> for UsersError {
    fn from(problem: Problem) -> Self {
        Self::Problem(Box::new(problem))
    }
}
