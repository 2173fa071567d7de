//! Order rules, without I/O.

pub mod order;
