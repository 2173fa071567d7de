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
    /// What the promotions took off.
    pub discount_total: i64,
    /// What shipping adds.
    pub shipping_total: i64,
    /// What tax adds.
    pub tax_total: i64,
    /// What is charged: subtotal - discount + shipping + tax.
    pub total: i64,
    /// Lines, as in the cart when ordered.
    pub items: Vec<Line>,
    /// The option it ships with, if one served the address.
    pub shipping_option: Option<ShippingChoice>,
    /// The promotions it was placed with (each one use of it until the
    /// order is cancelled).
    pub promotions: Vec<AppliedPromotion>,
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
    /// Its share of the discounts.
    #[serde(default)]
    pub discount: i64,
    /// Tax on it after its discount.
    #[serde(default)]
    pub tax: i64,
}

/// The shipping option an order ships with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingChoice {
    /// The option (pricing's).
    pub id: Uuid,
    /// Its name when ordered.
    pub name: String,
}

/// A promotion an order was placed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPromotion {
    /// The promotion (pricing's).
    pub promotion_id: Uuid,
    /// Its code, or None for an automatic promotion.
    pub code: Option<String>,
    /// What it took off.
    pub discount: i64,
    /// Its limits, held by the uses ledger when the order is placed.
    #[serde(default)]
    pub usage_limit: Option<i64>,
    /// Its limit per customer.
    #[serde(default)]
    pub usage_limit_per_customer: Option<i64>,
}

/// What pricing made of the order's lines: every total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    /// Per line, in line order: its discount and tax.
    pub lines: Vec<(i64, i64)>,
    /// Sum of line totals, as pricing saw them.
    pub subtotal: i64,
    /// What the promotions took off.
    pub discount_total: i64,
    /// What shipping adds.
    pub shipping_total: i64,
    /// What tax adds.
    pub tax_total: i64,
    /// What is charged.
    pub total: i64,
    /// The option it ships with.
    pub shipping_option: Option<ShippingChoice>,
    /// The promotions that applied.
    pub promotions: Vec<AppliedPromotion>,
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
    /// The prices do not add up to the lines (a bug of pricing, or lines
    /// that changed between pricing and placing): nothing is placed.
    Inconsistent,
}

impl Order {
    /// A new order, `pending`, numbered `number`, with the totals pricing
    /// gave its lines, provided they add up.
    pub fn place(
        new: NewOrder,
        priced: Priced,
        number: String,
        at: i64,
    ) -> Result<Self, PlaceError> {
        if new.lines.is_empty() {
            return Err(PlaceError::Empty);
        }
        let subtotal =
            platform::money::subtotal(new.lines.iter().map(|l| (l.quantity, l.unit_price)))
                .ok_or(PlaceError::TooLarge)?;
        let lines_add_up = priced.lines.len() == new.lines.len()
            && priced.lines.iter().map(|(d, _)| d).sum::<i64>() == priced.discount_total
            && priced.lines.iter().map(|(_, t)| t).sum::<i64>() <= priced.tax_total;
        let adds_up = priced.subtotal == subtotal
            && priced.discount_total >= 0
            && priced.shipping_total >= 0
            && priced.tax_total >= 0
            && priced.discount_total <= subtotal
            && subtotal - priced.discount_total + priced.shipping_total + priced.tax_total
                == priced.total;
        if !(lines_add_up && adds_up) {
            return Err(PlaceError::Inconsistent);
        }
        let items = new
            .lines
            .into_iter()
            .zip(&priced.lines)
            .map(|(line, &(discount, tax))| Line {
                discount,
                tax,
                ..line
            })
            .collect();
        Ok(Self {
            id: new.id,
            number,
            customer_id: new.customer_id,
            email: new.email,
            currency: new.currency,
            subtotal,
            discount_total: priced.discount_total,
            shipping_total: priced.shipping_total,
            tax_total: priced.tax_total,
            total: priced.total,
            items,
            shipping_option: priced.shipping_option,
            promotions: priced.promotions,
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
            discount: 0,
            tax: 0,
        }
    }

    fn unpriced(lines: &[Line]) -> Priced {
        let subtotal = lines.iter().map(|l| l.quantity * l.unit_price).sum();
        Priced {
            lines: lines.iter().map(|_| (0, 0)).collect(),
            subtotal,
            discount_total: 0,
            shipping_total: 0,
            tax_total: 0,
            total: subtotal,
            shipping_option: None,
            promotions: Vec::new(),
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
        let lines = vec![line(2, 1999), line(1, 500)];
        let priced = unpriced(&lines);
        let order = Order::place(new_order(lines), priced, "N".into(), 7).unwrap();
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
    fn an_order_carries_its_discount_shipping_and_tax_per_line_and_in_all() {
        let lines = vec![line(2, 1000), line(1, 500)];
        let priced = Priced {
            lines: vec![(200, 360), (50, 90)],
            subtotal: 2500,
            discount_total: 250,
            shipping_total: 500,
            tax_total: 550,
            total: 3300,
            shipping_option: None,
            promotions: Vec::new(),
        };
        let order = Order::place(new_order(lines), priced, "N".into(), 7).unwrap();
        assert_eq!(
            (
                order.discount_total,
                order.shipping_total,
                order.tax_total,
                order.total
            ),
            (250, 500, 550, 3300)
        );
        assert_eq!((order.items[0].discount, order.items[0].tax), (200, 360));
        assert_eq!((order.items[1].discount, order.items[1].tax), (50, 90));
    }

    #[test]
    fn an_empty_order_one_that_overflows_or_one_whose_prices_do_not_add_up_is_refused() {
        assert_eq!(
            Order::place(new_order(vec![]), unpriced(&[]), "N".into(), 0),
            Err(PlaceError::Empty)
        );
        let huge = vec![line(2, i64::MAX)];
        assert_eq!(
            Order::place(new_order(huge), unpriced(&[]), "N".into(), 0),
            Err(PlaceError::TooLarge)
        );
        let lines = vec![line(1, 1000)];
        let wrong_total = Priced {
            total: 999,
            ..unpriced(&lines)
        };
        assert_eq!(
            Order::place(new_order(lines.clone()), wrong_total, "N".into(), 0),
            Err(PlaceError::Inconsistent)
        );
        let stale = Priced {
            subtotal: 900,
            total: 900,
            ..unpriced(&lines)
        };
        assert_eq!(
            Order::place(new_order(lines), stale, "N".into(), 0),
            Err(PlaceError::Inconsistent)
        );
    }
}
