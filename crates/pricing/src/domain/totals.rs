//! The arithmetic of API.md "Pricing": from lines, the discounts that
//! apply, the shipping option and the tax rate to every total of a cart or
//! an order. Integer minor units throughout, each rounding half away from
//! zero; the one place Mercato computes money beyond a line's total.

/// What a promotion takes off, before the cap at the subtotal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deduction {
    /// Basis points of the subtotal (0..=10000).
    Percentage(i64),
    /// Minor units, at most the subtotal.
    Fixed(i64),
    /// The shipping option's price becomes 0.
    FreeShipping,
}

/// The chosen shipping option's price rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shipping {
    /// Its price in minor units.
    pub price: i64,
    /// Free when the discounted subtotal reaches this.
    pub free_over: Option<i64>,
}

/// The tax rate of the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tax {
    /// Basis points (0..=10000).
    pub rate: i64,
    /// Whether shipping is taxed too.
    pub applies_to_shipping: bool,
}

/// What is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input<'a> {
    /// Each line's `(quantity, unit_price)`, in cart order.
    pub lines: &'a [(i64, i64)],
    /// The promotions that apply, automatic ones first, then the code.
    pub deductions: &'a [Deduction],
    /// The shipping option, if one is chosen.
    pub shipping: Option<Shipping>,
    /// The destination's rate, if it has one.
    pub tax: Option<Tax>,
}

/// One line's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTotals {
    /// `unit_price` x `quantity`.
    pub line_total: i64,
    /// Its part of the discount.
    pub discount: i64,
    /// The tax on what is left of it.
    pub tax: i64,
}

/// Every total, as API.md defines them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Per line, in input order.
    pub lines: Vec<LineTotals>,
    /// What each deduction took, in input order (0 for free shipping).
    pub discounts: Vec<i64>,
    /// Sum of line totals.
    pub subtotal: i64,
    /// Sum of `discounts`, never above `subtotal`.
    pub discount_total: i64,
    /// The option's price, or 0 when free.
    pub shipping_total: i64,
    /// Tax on goods after discounts, and on shipping when the rate says.
    pub tax_total: i64,
    /// `subtotal` - `discount_total` + `shipping_total` + `tax_total`.
    pub total: i64,
}

/// Why something cannot be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotalsError {
    /// A quantity, price or rate out of its range.
    #[error("a quantity, price or rate is out of range")]
    OutOfRange,
    /// An amount does not fit in 64 bits.
    #[error("the amount is too large")]
    Overflow,
}

const BASIS: i128 = 10_000;

/// `amount` x `rate` / 10000, half away from zero (both are non-negative).
fn apply_rate(amount: i64, rate: i64) -> Result<i64, TotalsError> {
    let product = i128::from(amount) * i128::from(rate);
    i64::try_from((product + BASIS / 2) / BASIS).map_err(|_| TotalsError::Overflow)
}

fn rate_ok(rate: i64) -> bool {
    (0..=10_000).contains(&rate)
}

/// Prices `input` by API.md's five steps.
pub fn compute(input: Input<'_>) -> Result<Totals, TotalsError> {
    let line_totals = input
        .lines
        .iter()
        .map(|&(quantity, price)| {
            if quantity < 0 || price < 0 {
                return Err(TotalsError::OutOfRange);
            }
            quantity.checked_mul(price).ok_or(TotalsError::Overflow)
        })
        .collect::<Result<Vec<i64>, _>>()?;
    let subtotal = line_totals
        .iter()
        .try_fold(0i64, |sum, &t| sum.checked_add(t))
        .ok_or(TotalsError::Overflow)?;

    // 2. Each discount in turn, capped by what is left of the subtotal.
    let mut discounts = Vec::with_capacity(input.deductions.len());
    let mut discount_total = 0i64;
    let mut free_shipping = false;
    for deduction in input.deductions {
        let wanted = match *deduction {
            Deduction::Percentage(rate) if rate_ok(rate) => apply_rate(subtotal, rate)?,
            Deduction::Fixed(value) if value >= 0 => value.min(subtotal),
            Deduction::FreeShipping => {
                free_shipping = true;
                0
            }
            Deduction::Percentage(_) | Deduction::Fixed(_) => return Err(TotalsError::OutOfRange),
        };
        let taken = wanted.min(subtotal - discount_total);
        discount_total += taken;
        discounts.push(taken);
    }
    let line_discounts = spread(discount_total, &line_totals);

    // 3. Shipping.
    let after_discount = subtotal - discount_total;
    let shipping_total = match input.shipping {
        None => 0,
        Some(Shipping { price, free_over }) => {
            if price < 0 || free_over.is_some_and(|f| f < 0) {
                return Err(TotalsError::OutOfRange);
            }
            if free_shipping || free_over.is_some_and(|f| after_discount >= f) {
                0
            } else {
                price
            }
        }
    };

    // 4. Tax, line by line, then on shipping.
    let tax = input.tax.unwrap_or(Tax {
        rate: 0,
        applies_to_shipping: false,
    });
    if !rate_ok(tax.rate) {
        return Err(TotalsError::OutOfRange);
    }
    let mut lines = Vec::with_capacity(line_totals.len());
    let mut tax_total = 0i64;
    for (&line_total, &discount) in line_totals.iter().zip(&line_discounts) {
        let line_tax = apply_rate(line_total - discount, tax.rate)?;
        tax_total = tax_total
            .checked_add(line_tax)
            .ok_or(TotalsError::Overflow)?;
        lines.push(LineTotals {
            line_total,
            discount,
            tax: line_tax,
        });
    }
    if tax.applies_to_shipping {
        tax_total = tax_total
            .checked_add(apply_rate(shipping_total, tax.rate)?)
            .ok_or(TotalsError::Overflow)?;
    }

    // 5. The total.
    let total = after_discount
        .checked_add(shipping_total)
        .and_then(|t| t.checked_add(tax_total))
        .ok_or(TotalsError::Overflow)?;
    Ok(Totals {
        lines,
        discounts,
        subtotal,
        discount_total,
        shipping_total,
        tax_total,
        total,
    })
}

/// `discount` over lines in proportion to their totals: each gets the
/// floor of its share, the rest goes to the largest line (the first of
/// equals), so the parts add up to `discount` exactly. Only when that line
/// cannot take the rest without being discounted below zero (a discount
/// of nearly everything over lines of a few minor units) does what it
/// cannot take go on to the next largest.
fn spread(discount: i64, line_totals: &[i64]) -> Vec<i64> {
    let subtotal: i128 = line_totals.iter().map(|&t| i128::from(t)).sum();
    if discount == 0 || subtotal == 0 {
        return vec![0; line_totals.len()];
    }
    let mut parts: Vec<i64> = line_totals
        .iter()
        .map(|&t| {
            // A share is at most `discount`, so it fits.
            i64::try_from(i128::from(discount) * i128::from(t) / subtotal).unwrap_or(0)
        })
        .collect();
    let mut rest = discount - parts.iter().sum::<i64>();
    let mut by_size: Vec<usize> = (0..line_totals.len()).collect();
    // Stable: equals keep their cart order.
    by_size.sort_by_key(|&i| std::cmp::Reverse(line_totals[i]));
    for i in by_size {
        if rest == 0 {
            break;
        }
        let room = line_totals[i] - parts[i];
        let given = rest.min(room);
        parts[i] += given;
        rest -= given;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn priced(
        lines: &[(i64, i64)],
        deductions: &[Deduction],
        shipping: Option<Shipping>,
        tax: Option<Tax>,
    ) -> Totals {
        compute(Input {
            lines,
            deductions,
            shipping,
            tax,
        })
        .unwrap()
    }

    #[test]
    fn without_promotions_shipping_or_tax_the_total_is_the_subtotal() {
        let t = priced(&[(2, 1999), (1, 500)], &[], None, None);
        assert_eq!((t.subtotal, t.discount_total, t.total), (4498, 0, 4498));
        assert_eq!(t.lines[0].line_total, 3998);
    }

    #[test]
    fn the_worked_example_adds_up() {
        // 10 % off 100.00 + 33.33, shipping 5.00 taxed, VAT 20 %.
        let t = priced(
            &[(1, 10_000), (1, 3_333)],
            &[Deduction::Percentage(1000)],
            Some(Shipping {
                price: 500,
                free_over: None,
            }),
            Some(Tax {
                rate: 2000,
                applies_to_shipping: true,
            }),
        );
        // round(13333 x 0.1) = 1333; shares floor(1333 x 10000/13333) = 999
        // and floor(1333 x 3333/13333) = 333; the one left goes to the
        // larger line.
        assert_eq!(t.discount_total, 1333);
        assert_eq!((t.lines[0].discount, t.lines[1].discount), (1000, 333));
        // Tax: round(9000 x 0.2) = 1800, round(3000 x 0.2) = 600, shipping 100.
        assert_eq!((t.lines[0].tax, t.lines[1].tax), (1800, 600));
        assert_eq!((t.shipping_total, t.tax_total), (500, 2500));
        assert_eq!(t.total, 13_333 - 1333 + 500 + 2500);
    }

    #[test]
    fn halves_round_away_from_zero() {
        // 12.5 % of 4 = 0.5 -> 1; 20 % of 2.5 would be 0.5 -> 1.
        let t = priced(&[(1, 4)], &[Deduction::Percentage(1250)], None, None);
        assert_eq!(t.discount_total, 1);
        let t = priced(
            &[(1, 5)],
            &[],
            None,
            Some(Tax {
                rate: 1000,
                applies_to_shipping: false,
            }),
        );
        assert_eq!(t.tax_total, 1);
    }

    #[test]
    fn discounts_stop_at_the_subtotal_and_fixed_ones_at_what_is_left() {
        let t = priced(
            &[(1, 1000)],
            &[Deduction::Percentage(8000), Deduction::Fixed(500)],
            None,
            None,
        );
        assert_eq!(t.discounts, vec![800, 200]);
        assert_eq!((t.discount_total, t.total), (1000, 0));
    }

    #[test]
    fn shipping_is_free_over_its_threshold_after_discounts_or_by_promotion() {
        let option = Some(Shipping {
            price: 700,
            free_over: Some(5000),
        });
        assert_eq!(priced(&[(1, 5000)], &[], option, None).shipping_total, 0);
        let discounted = priced(&[(1, 5000)], &[Deduction::Fixed(1)], option, None);
        assert_eq!(discounted.shipping_total, 700);
        let free = priced(&[(1, 100)], &[Deduction::FreeShipping], option, None);
        assert_eq!((free.shipping_total, free.discounts[0]), (0, 0));
    }

    #[test]
    fn the_remainder_of_a_split_goes_to_the_first_largest_line() {
        assert_eq!(spread(10, &[300, 300, 300]), vec![4, 3, 3]);
        assert_eq!(spread(10, &[100, 300, 300]), vec![1, 5, 4]);
        assert_eq!(spread(0, &[100]), vec![0]);
        assert_eq!(spread(5, &[0, 0]), vec![0, 0]);
        // 2 off three lines of 1: the first largest takes what it can.
        assert_eq!(spread(2, &[1, 1, 1]), vec![1, 1, 0]);
    }

    #[test]
    fn out_of_range_inputs_are_refused() {
        let bad = |deductions: &[Deduction], tax: Option<Tax>| {
            compute(Input {
                lines: &[(1, 100)],
                deductions,
                shipping: None,
                tax,
            })
        };
        assert_eq!(
            bad(&[Deduction::Percentage(10_001)], None),
            Err(TotalsError::OutOfRange)
        );
        assert_eq!(
            bad(&[Deduction::Fixed(-1)], None),
            Err(TotalsError::OutOfRange)
        );
        let tax = Some(Tax {
            rate: -1,
            applies_to_shipping: false,
        });
        assert_eq!(bad(&[], tax), Err(TotalsError::OutOfRange));
        let overflow = compute(Input {
            lines: &[(2, i64::MAX)],
            deductions: &[],
            shipping: None,
            tax: None,
        });
        assert_eq!(overflow, Err(TotalsError::Overflow));
    }

    fn deduction() -> impl Strategy<Value = Deduction> {
        prop_oneof![
            (0i64..=10_000).prop_map(Deduction::Percentage),
            (0i64..=2_000_000).prop_map(Deduction::Fixed),
            Just(Deduction::FreeShipping),
        ]
    }

    proptest! {
        #[test]
        fn totals_hold_their_invariants(
            lines in prop::collection::vec((1i64..=99, 0i64..=1_000_000), 1..20),
            deductions in prop::collection::vec(deduction(), 0..4),
            shipping in prop::option::of((0i64..=100_000, prop::option::of(0i64..=5_000_000))),
            tax in prop::option::of((0i64..=10_000, any::<bool>())),
        ) {
            let t = compute(Input {
                lines: &lines,
                deductions: &deductions,
                shipping: shipping.map(|(price, free_over)| Shipping { price, free_over }),
                tax: tax.map(|(rate, applies_to_shipping)| Tax { rate, applies_to_shipping }),
            }).unwrap();
            // Nothing is negative; discounts never exceed what they apply to.
            for v in [t.subtotal, t.discount_total, t.shipping_total, t.tax_total, t.total] {
                prop_assert!(v >= 0);
            }
            prop_assert!(t.discount_total <= t.subtotal);
            prop_assert_eq!(t.discounts.iter().sum::<i64>(), t.discount_total);
            prop_assert_eq!(t.total, t.subtotal - t.discount_total + t.shipping_total + t.tax_total);
            // The split loses or gains no minor unit, and no line gets more
            // than it costs.
            prop_assert_eq!(t.lines.iter().map(|l| l.discount).sum::<i64>(), t.discount_total);
            for (line, &(q, p)) in t.lines.iter().zip(&lines) {
                prop_assert_eq!(line.line_total, q * p);
                prop_assert!(line.discount >= 0 && line.discount <= line.line_total);
                prop_assert!(line.tax >= 0);
            }
            prop_assert_eq!(t.lines.iter().map(|l| l.line_total).sum::<i64>(), t.subtotal);
            // Tax is the lines' tax, plus shipping's when the rate says.
            let lines_tax: i64 = t.lines.iter().map(|l| l.tax).sum();
            prop_assert!(t.tax_total >= lines_tax);
            if !tax.is_some_and(|(_, on_shipping)| on_shipping) {
                prop_assert_eq!(t.tax_total, lines_tax);
            }
        }

        #[test]
        fn a_split_never_moves_a_unit(
            discount_share in 0u32..=100,
            totals in prop::collection::vec(0i64..=10_000_000, 1..30),
        ) {
            let subtotal: i64 = totals.iter().sum();
            let discount = subtotal * i64::from(discount_share) / 100;
            let parts = spread(discount, &totals);
            prop_assert_eq!(parts.iter().sum::<i64>(), if subtotal == 0 { 0 } else { discount });
            for (part, total) in parts.iter().zip(&totals) {
                prop_assert!(*part >= 0 && part <= total);
            }
        }
    }
}
