//! Money: an integer amount of minor units and an ISO 4217 currency. Never
//! a float.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An amount in minor units (cents) of a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Minor units, e.g. 1999 for 19.99 USD.
    pub amount: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
}

impl Money {
    /// Money of `amount` minor units of `currency` (assumed valid).
    pub fn new(amount: i64, currency: &str) -> Self {
        Self {
            amount,
            currency: currency.to_owned(),
        }
    }

    /// `quantity` units at this price; None on overflow.
    pub fn times(&self, quantity: i64) -> Option<Self> {
        Some(Self::new(
            line_total(quantity, self.amount)?,
            &self.currency,
        ))
    }
}

/// A line's total in minor units, `quantity` × `unit_price`; None on
/// overflow. The one rule for carts and orders alike.
pub fn line_total(quantity: i64, unit_price: i64) -> Option<i64> {
    quantity.checked_mul(unit_price)
}

/// The sum of the totals of `(quantity, unit_price)` lines; None on
/// overflow.
pub fn subtotal(lines: impl IntoIterator<Item = (i64, i64)>) -> Option<i64> {
    lines.into_iter().try_fold(0i64, |sum, (quantity, price)| {
        sum.checked_add(line_total(quantity, price)?)
    })
}

/// Active ISO 4217 codes with their minor-unit exponent.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// The minor-unit exponent of an ISO 4217 code (2 for USD, 0 for JPY), or
/// None if the code is not a currency.
pub fn minor_units(code: &str) -> Option<u8> {
    CURRENCIES.iter().find(|(c, _)| *c == code).map(|(_, e)| *e)
}

/// Every active ISO 4217 code, upper case.
pub fn currency_codes() -> impl Iterator<Item = &'static str> {
    CURRENCIES.iter().map(|(code, _)| *code)
}

/// Is `code` an active ISO 4217 currency code (upper case)?
pub fn is_currency(code: &str) -> bool {
    minor_units(code).is_some()
}

/// An amount for people: `USD 1,234.50`, `JPY 1,200` (code first, so no
/// locale decides which symbol or separator is meant).
pub fn display(amount: i64, currency: &str) -> String {
    let exponent = u32::from(minor_units(currency).unwrap_or(2));
    let scale = 10u64.pow(exponent);
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let whole = (abs / scale).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if exponent == 0 {
        format!("{currency} {sign}{grouped}")
    } else {
        let fraction = abs % scale;
        format!(
            "{currency} {sign}{grouped}.{fraction:0width$}",
            width = exponent as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_exact_and_overflow_is_caught() {
        assert_eq!(subtotal([(2, 1999), (1, 1)]), Some(3999));
        assert_eq!(subtotal([(2, i64::MAX)]), None);
        assert_eq!(subtotal([(1, i64::MAX), (1, 1)]), None);
        let price = Money::new(1999, "EUR");
        assert_eq!(price.times(3), Some(Money::new(5997, "EUR")));
        assert_eq!(price.times(i64::MAX), None);
    }

    #[test]
    fn amounts_are_shown_with_their_currency_and_exponent() {
        assert_eq!(display(123_450, "USD"), "USD 1,234.50");
        assert_eq!(display(5, "EUR"), "EUR 0.05");
        assert_eq!(display(1200, "JPY"), "JPY 1,200");
        assert_eq!(display(1_234_567, "KWD"), "KWD 1,234.567");
        assert_eq!(display(-1999, "USD"), "USD -19.99");
        assert_eq!(display(100_000_000, "USD"), "USD 1,000,000.00");
    }

    #[test]
    fn known_currencies_and_their_exponents() {
        assert_eq!(minor_units("USD"), Some(2));
        assert_eq!(minor_units("JPY"), Some(0));
        assert_eq!(minor_units("KWD"), Some(3));
        assert!(!is_currency("usd"));
        assert!(!is_currency("XXX"));
    }
}
