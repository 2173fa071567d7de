//! Cart rules: limits and totals, in integer minor units.

use crate::error::CartError;

/// Units of one line.
pub const QUANTITY_MAX: i64 = 99;
/// Lines of one cart.
pub const LINES_MAX: usize = 100;

/// Why adding `adding` units to a line that holds `held` (0: no line yet)
/// was refused, when the store's limits said no.
pub fn refused_add(held: i64, adding: i64, available: i64) -> CartError {
    let total = held.saturating_add(adding);
    if held == 0 {
        CartError::field(
            "variant_id",
            format!("a cart holds at most {LINES_MAX} lines"),
        )
    } else if total > QUANTITY_MAX {
        CartError::field(
            "quantity",
            format!("a line holds at most {QUANTITY_MAX} units"),
        )
    } else {
        debug_assert!(total > available);
        CartError::OutOfStock { available }
    }
}

/// Checks a line quantity; the error is the reason.
pub fn check_quantity(quantity: i64) -> Result<(), String> {
    if (1..=QUANTITY_MAX).contains(&quantity) {
        Ok(())
    } else {
        Err(format!("must be between 1 and {QUANTITY_MAX}"))
    }
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
    fn a_refused_add_names_the_limit_it_hit() {
        let field = |e: CartError| match e {
            CartError::Validation(errors) => errors[0].field.clone(),
            other => format!("{other}"),
        };
        assert_eq!(field(refused_add(0, 1, 10)), "variant_id");
        assert_eq!(field(refused_add(98, 2, 500)), "quantity");
        assert!(matches!(
            refused_add(5, 6, 10),
            CartError::OutOfStock { available: 10 }
        ));
    }
}
