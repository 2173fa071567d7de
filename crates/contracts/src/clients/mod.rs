//! Synchronous reads one service makes of another, behind traits with an
//! in-process implementation (all-in-one) and an HTTP one (distributed).

pub mod cart;
pub mod catalog;

/// A dependency could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Down, timed out, or answered with a server error.
    #[error("{service} is unavailable: {detail}")]
    Unavailable {
        /// Which service.
        service: &'static str,
        /// What happened.
        detail: String,
    },
}
