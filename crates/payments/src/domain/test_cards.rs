//! The built-in `test` provider's cards (API.md), as at Stripe.

/// What paying with a test card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOutcome {
    /// The money is taken.
    Succeeds,
    /// Refused with this failure code.
    Fails(&'static str),
}

/// The test cards and what each does.
pub const CARDS: &[(&str, CardOutcome)] = &[
    ("4242424242424242", CardOutcome::Succeeds),
    ("4000000000000002", CardOutcome::Fails("card_declined")),
    ("4000000000009995", CardOutcome::Fails("insufficient_funds")),
];

/// A card number with spaces and dashes removed, if it has the shape of
/// one (12 to 19 digits).
pub fn normalise(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    ((12..=19).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()))
        .then_some(digits)
}

/// The outcome of a test card; None for a number that is not one.
pub fn outcome(card_number: &str) -> Option<CardOutcome> {
    CARDS
        .iter()
        .find(|(number, _)| *number == card_number)
        .map(|(_, outcome)| *outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_cards_of_the_contract() {
        assert_eq!(outcome("4242424242424242"), Some(CardOutcome::Succeeds));
        assert_eq!(
            outcome("4000000000000002"),
            Some(CardOutcome::Fails("card_declined"))
        );
        assert_eq!(
            outcome("4000000000009995"),
            Some(CardOutcome::Fails("insufficient_funds"))
        );
        assert_eq!(outcome("5555555555554444"), None);
    }

    #[test]
    fn numbers_are_normalised_and_checked_for_shape() {
        assert_eq!(
            normalise("4242 4242-4242 4242").as_deref(),
            Some("4242424242424242")
        );
        assert_eq!(normalise("4242"), None);
        assert_eq!(normalise("4242x24242424242"), None);
    }
}
