//! Order rules, without I/O.

pub mod checkout;
pub mod lifecycle;
pub mod order;
