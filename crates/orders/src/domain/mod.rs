//! Order rules, without I/O.

pub mod checkout;
pub mod order;
