//! Pricing: shipping options, tax rates and promotions, and the arithmetic
//! of API.md "Pricing" that every cart and order total comes from.
//!
//! So far the rules without I/O ([`domain`]); the service that stores the
//! definitions and answers cart and orders comes next (issue 23).

pub mod domain;
