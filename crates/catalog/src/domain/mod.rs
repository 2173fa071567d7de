//! Catalog rules: slugs, products and their variants, stock levels. No I/O.

pub mod product;
pub mod slug;
pub mod stock;
