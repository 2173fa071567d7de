//! Users domain: rules about accounts, credentials and sessions. No I/O:
//! nothing here touches axum, sqlx or the clock directly.

pub use platform::address;
pub use platform::email;
pub mod account;
pub mod password;
pub mod profile;
pub mod secret_token;
pub mod throttle;

pub use address::Address;
pub use email::Email;
pub use profile::{Name, Phone};
