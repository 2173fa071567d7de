//! Checkout rules: order numbers (totals are `platform::money`'s).

/// Crockford's base 32: no I, L, O or U, so a number read aloud or
/// typed from a receipt is not mistaken.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A human-friendly order number from 50 random bits, e.g. `7KQ2F-9XJ4B`.
/// Short enough to read over the phone; 2^50 values make a clash (caught
/// by a unique index and retried) a curiosity.
pub fn order_number(random: u64) -> String {
    let mut out = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            out.push('-');
        }
        let shift = 45 - 5 * i;
        let index = usize::try_from((random >> shift) & 31).unwrap_or(0);
        out.push(char::from(ALPHABET[index]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_ten_crockford_characters_in_two_groups() {
        let n = order_number(0x3_FFFF_FFFF_FFFF);
        assert_eq!(n, "ZZZZZ-ZZZZZ");
        assert_eq!(order_number(0), "00000-00000");
        let n = order_number(0x1234_5678_9ABC);
        assert_eq!(n.len(), 11);
        assert!(n.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_ne!(order_number(1), order_number(2));
    }
}
