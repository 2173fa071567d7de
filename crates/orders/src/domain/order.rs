//! The order aggregate: what was bought, by whom, for how much, where it
//! goes, and where it is in its [`Lifecycle`].

use contracts::checkout::Provider;
use platform::address::Address;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::lifecycle::Lifecycle;

/// An order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// UUIDv7 for a customer's order; random for a guest's, whose only key
    /// it is.
    pub id: Uuid,
    /// The human-friendly number on receipts, e.g. `7KQ2F-9XJ4B`.
    pub number: String,
    /// The customer, or None for a guest order.
    pub customer_id: Option<Uuid>,
    /// Where its mail goes.
    pub email: String,
    /// ISO 4217 code of every amount.
    pub currency: String,
    /// Sum of line totals.
    pub subtotal: i64,
    /// What shipping adds.
    pub shipping_total: i64,
    /// What tax adds.
    pub tax_total: i64,
    /// What is charged: subtotal, shipping and tax.
    pub total: i64,
    /// Lines, as in the cart when ordered.
    pub items: Vec<Line>,
    /// Where it goes.
    pub shipping_address: Address,
    /// The provider the customer chose.
    pub payment_provider: Provider,
    /// Status, payment status, history.
    pub lifecycle: Lifecycle,
    /// Bumped by every update (optimistic concurrency).
    pub version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// A line of an order, priced when it was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The variant ordered.
    pub variant_id: Uuid,
    /// Its SKU, which the catalog reserves.
    pub sku: String,
    /// Product name when ordered.
    pub product_name: String,
    /// Variant title when ordered.
    pub variant_title: String,
    /// Units ordered.
    pub quantity: i64,
    /// Price of one unit in minor units, as the cart held it.
    pub unit_price: i64,
}

/// What an order is placed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Its id (see [`Order::id`]).
    pub id: Uuid,
    /// The customer, or None for a guest.
    pub customer_id: Option<Uuid>,
    /// Where its mail goes.
    pub email: String,
    /// The cart's currency.
    pub currency: String,
    /// The cart's lines.
    pub lines: Vec<Line>,
    /// Where it goes.
    pub shipping_address: Address,
    /// The chosen provider.
    pub payment_provider: Provider,
}

/// Why an order cannot be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceError {
    /// It has no lines.
    Empty,
    /// Its total does not fit the amounts money is counted in.
    TooLarge,
}

impl Order {
    /// A new order, `pending`, numbered `number`, its totals from its lines
    /// (nothing is added for shipping or tax yet).
    pub fn place(new: NewOrder, number: String, at: i64) -> Result<Self, PlaceError> {
        if new.lines.is_empty() {
            return Err(PlaceError::Empty);
        }
        let subtotal =
            platform::money::subtotal(new.lines.iter().map(|l| (l.quantity, l.unit_price)))
                .ok_or(PlaceError::TooLarge)?;
        Ok(Self {
            id: new.id,
            number,
            customer_id: new.customer_id,
            email: new.email,
            currency: new.currency,
            subtotal,
            shipping_total: 0,
            tax_total: 0,
            total: subtotal,
            items: new.lines,
            shipping_address: new.shipping_address,
            payment_provider: new.payment_provider,
            lifecycle: Lifecycle::placed(at),
            version: 0,
            created_at: at,
            updated_at: at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::{PaymentStatus, Status};

    fn line(quantity: i64, unit_price: i64) -> Line {
        Line {
            variant_id: Uuid::nil(),
            sku: "SKU-1".into(),
            product_name: "Mug".into(),
            variant_title: "Blue".into(),
            quantity,
            unit_price,
        }
    }

    fn new_order(lines: Vec<Line>) -> NewOrder {
        NewOrder {
            id: Uuid::nil(),
            customer_id: None,
            email: "guest@example.com".into(),
            currency: "EUR".into(),
            lines,
            shipping_address: Address {
                name: "Ada".into(),
                line1: "1 Main St".into(),
                line2: None,
                city: "Paris".into(),
                region: None,
                postal_code: "75001".into(),
                country: "FR".into(),
                phone: None,
            },
            payment_provider: Provider::Test,
        }
    }

    #[test]
    fn a_placed_order_is_pending_and_charges_the_sum_of_its_lines() {
        let order =
            Order::place(new_order(vec![line(2, 1999), line(1, 500)]), "N".into(), 7).unwrap();
        assert_eq!((order.subtotal, order.total), (4498, 4498));
        assert_eq!((order.shipping_total, order.tax_total), (0, 0));
        assert_eq!(order.lifecycle.status, Status::Pending);
        assert_eq!(order.lifecycle.payment_status, PaymentStatus::None);
        assert_eq!(
            (order.created_at, order.updated_at, order.version),
            (7, 7, 0)
        );
    }

    #[test]
    fn an_empty_order_or_one_that_overflows_is_refused() {
        assert_eq!(
            Order::place(new_order(vec![]), "N".into(), 0),
            Err(PlaceError::Empty)
        );
        assert_eq!(
            Order::place(new_order(vec![line(2, i64::MAX)]), "N".into(), 0),
            Err(PlaceError::TooLarge)
        );
    }
}
