//! Stock levels: available = on hand - reserved, never below zero.

/// Units available to sell.
pub fn available(on_hand: i64, reserved: i64) -> i64 {
    (on_hand - reserved).max(0)
}

/// The largest change one adjustment makes, either way (so no sum of
/// adjustments and reservations can overflow).
pub const ADJUSTMENT_MAX: i64 = 1_000_000_000;

/// Would an adjustment of `delta` keep every level valid? The error says why not.
pub fn check_adjustment(on_hand: i64, reserved: i64, delta: i64) -> Result<i64, String> {
    let new_on_hand = on_hand
        .checked_add(delta)
        .ok_or("the adjustment is too large")?;
    if new_on_hand < reserved {
        return Err(format!(
            "{on_hand} on hand with {reserved} reserved: an adjustment of {delta} would leave {} available",
            new_on_hand - reserved
        ));
    }
    Ok(new_on_hand)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustments_never_take_available_stock_below_zero() {
        assert_eq!(check_adjustment(10, 4, -6), Ok(4));
        assert!(check_adjustment(10, 4, -7).is_err());
        assert_eq!(check_adjustment(0, 0, 5), Ok(5));
        assert!(check_adjustment(i64::MAX, 0, 1).is_err());
        assert_eq!(available(3, 5), 0);
    }
}
