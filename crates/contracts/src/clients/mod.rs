//! Synchronous reads one service makes of another, behind traits with an
//! in-process implementation (all-in-one), which lives beside the service
//! it reads, and an HTTP one (distributed), which lives here with the parts
//! of the wire shapes it reads: one place says what a caller may rely on.

pub mod cart;
pub mod catalog;
pub mod pricing;

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
