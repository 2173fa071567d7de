//! Pricing rules without I/O: the totals, and what makes a promotion,
//! shipping option or tax rate valid and applicable.

pub mod promotion;
pub mod quote;
pub mod rules;
pub mod totals;
pub mod validate;
