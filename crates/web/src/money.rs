//! Prices as people read them: the currency's symbol and its own number of
//! decimals (none for yen, three for dinars), thousands grouped.

use crate::models::Money;

/// Decimals of a currency's minor unit (ISO 4217).
pub fn exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

fn symbol(currency: &str) -> Option<&'static str> {
    Some(match currency {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "¥",
        "INR" => "₹",
        "KRW" => "₩",
        "CHF" => "CHF ",
        "CAD" => "CA$",
        "AUD" => "A$",
        _ => return None,
    })
}

/// `$1,299.00`, `€5.00`, `¥500`, `SEK 99.50`.
pub fn format(money: &Money) -> String {
    let exp = exponent(&money.currency);
    let scale = 10_i64.pow(exp);
    let negative = money.amount < 0;
    let abs = money.amount.unsigned_abs();
    let (whole, minor) = (abs / scale.unsigned_abs(), abs % scale.unsigned_abs());
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let number = if exp == 0 {
        grouped
    } else {
        format!("{grouped}.{minor:0width$}", width = exp as usize)
    };
    let sign = if negative { "−" } else { "" };
    match symbol(&money.currency) {
        Some(symbol) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{} {number}", money.currency),
    }
}

/// The amount as a form field holds it: `1299.00`, `500` (no symbol, no
/// grouping), what [`parse_major`] reads back.
pub fn format_plain(money: &Money) -> String {
    let exp = exponent(&money.currency);
    let scale = 10_u64.pow(exp);
    let abs = money.amount.unsigned_abs();
    let sign = if money.amount < 0 { "-" } else { "" };
    if exp == 0 {
        format!("{sign}{abs}")
    } else {
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = exp as usize
        )
    }
}

/// A price typed in major units (`12`, `12.5`, `12.50`) in minor units;
/// None for anything else.
pub fn parse_major(text: &str, currency: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let exp = exponent(currency) as usize;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > exp
        || whole.len() > 12
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<exp$}").parse().ok()?
    };
    whole
        .checked_mul(10_i64.pow(exp as u32))?
        .checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: i64, currency: &str) -> Money {
        Money {
            amount,
            currency: currency.into(),
        }
    }

    #[test]
    fn prices_follow_their_currency() {
        assert_eq!(format(&money(129_900, "USD")), "$1,299.00");
        assert_eq!(format(&money(5, "EUR")), "€0.05");
        assert_eq!(format(&money(500, "JPY")), "¥500");
        assert_eq!(format(&money(1_234_567, "KWD")), "KWD 1,234.567");
        assert_eq!(format(&money(9950, "SEK")), "SEK 99.50");
        assert_eq!(format(&money(-250, "GBP")), "−£2.50");
        assert_eq!(format(&money(100_000_000, "USD")), "$1,000,000.00");
    }

    #[test]
    fn typed_prices_become_minor_units() {
        assert_eq!(parse_major("12", "USD"), Some(1200));
        assert_eq!(parse_major("12.5", "USD"), Some(1250));
        assert_eq!(parse_major(" 0.05 ", "USD"), Some(5));
        assert_eq!(parse_major("500", "JPY"), Some(500));
        assert_eq!(parse_major("5.5", "JPY"), None);
        assert_eq!(parse_major("1.234", "USD"), None);
        assert_eq!(parse_major("-1", "USD"), None);
        assert_eq!(parse_major("", "USD"), None);
        assert_eq!(parse_major(".", "USD"), None);
        assert_eq!(parse_major("9999999999999", "USD"), None);
    }

    #[test]
    fn plain_amounts_read_back() {
        for (amount, currency) in [
            (129_900, "USD"),
            (5, "EUR"),
            (500, "JPY"),
            (1_234_567, "KWD"),
        ] {
            let plain = format_plain(&money(amount, currency));
            assert_eq!(parse_major(&plain, currency), Some(amount), "{plain}");
        }
        assert_eq!(format_plain(&money(129_900, "USD")), "1299.00");
    }
}
