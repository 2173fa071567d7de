//! Cart rules: limits and totals, in integer minor units.

/// Units of one line.
pub const QUANTITY_MAX: i64 = 99;
/// Lines of one cart.
pub const LINES_MAX: usize = 100;

/// Checks a line quantity; the error is the reason.
pub fn check_quantity(quantity: i64) -> Result<(), String> {
    if (1..=QUANTITY_MAX).contains(&quantity) {
        Ok(())
    } else {
        Err(format!("must be between 1 and {QUANTITY_MAX}"))
    }
}

/// A line's total, or None on overflow.
pub fn line_total(quantity: i64, unit_price: i64) -> Option<i64> {
    quantity.checked_mul(unit_price)
}

/// The sum of line totals, or None on overflow.
pub fn subtotal(lines: impl IntoIterator<Item = (i64, i64)>) -> Option<i64> {
    lines
        .into_iter()
        .try_fold(0i64, |sum, (q, p)| sum.checked_add(line_total(q, p)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_stay_within_one_to_ninety_nine() {
        assert!(check_quantity(1).is_ok() && check_quantity(99).is_ok());
        assert!(
            check_quantity(0).is_err()
                && check_quantity(100).is_err()
                && check_quantity(-1).is_err()
        );
    }

    #[test]
    fn totals_are_exact_and_overflow_is_caught() {
        assert_eq!(subtotal([(2, 1999), (1, 1)]), Some(3999));
        assert_eq!(subtotal([(2, i64::MAX)]), None);
    }
}
