//! What orders needs to know about a cart at checkout.

mod http;
pub use http::HttpCart;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::ClientError;
use crate::ids::{CartId, CustomerId, OrderId, VariantId};

/// A cart as checkout sees it: its lines with their price snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartSnapshot {
    /// The cart.
    pub id: CartId,
    /// Owner, or None for a guest cart.
    pub customer_id: Option<CustomerId>,
    /// ISO 4217 code of every line.
    pub currency: String,
    /// The promotion code the customer applied, if any (also when it no
    /// longer applies: placing the order says why).
    #[serde(default)]
    pub promotion_code: Option<String>,
    /// Lines, in the order added.
    pub items: Vec<CartLine>,
}

/// One line of a [`CartSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// The variant: one of its product's `variants[].id`.
    pub variant_id: VariantId,
    /// The stock-keeping unit: unique in the catalog, 1 to 64 characters.
    pub sku: String,
    /// The product's name when the line was added.
    pub product_name: String,
    /// The variant's title when the line was added.
    pub variant_title: String,
    /// Units of the variant on this line (1 to 99).
    pub quantity: i64,
    /// Price of one unit, minor units.
    pub unit_price: i64,
}

/// Who asks for the cart: the same rules as the cart API apply (a guest
/// cart to anyone with its id, a customer's cart to its owner only).
#[derive(Debug, Clone, Copy)]
pub struct CartCaller<'a> {
    /// The customer, if the request carried a token.
    pub customer_id: Option<CustomerId>,
    /// The request's bearer token, forwarded when the cart is remote.
    pub bearer: Option<&'a str>,
}

/// Units of a variant that an order took out of a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderedUnits {
    /// The variant: one of its product's `variants[].id`.
    pub variant_id: VariantId,
    /// Units of the variant on this line (1 to 99).
    pub quantity: i64,
}

/// Reads carts, and empties them of what was ordered. A cart the caller
/// may not see is `None`.
pub trait CartClient: Send + Sync + 'static {
    /// The cart, if the caller may see it.
    fn cart<'a>(
        &'a self,
        cart_id: CartId,
        caller: CartCaller<'a>,
    ) -> BoxFuture<'a, Result<Option<CartSnapshot>, ClientError>>;

    /// Takes the ordered units out of the cart, once per order (the cart
    /// does the same on `order.placed`; whichever comes first counts).
    fn checkout<'a>(
        &'a self,
        cart_id: CartId,
        caller: CartCaller<'a>,
        order_id: OrderId,
        units: &'a [OrderedUnits],
    ) -> BoxFuture<'a, Result<(), ClientError>>;
}
