//! The contracts between Mercato services: the only crate services share
//! about each other. A service crate never depends on another service crate.

pub mod checkout;
pub mod clients;
pub mod events;
pub mod ids;
