//! Payment rules, without I/O.

pub mod payment;
pub mod test_cards;
