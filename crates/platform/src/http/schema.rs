//! JSON Schema of the request fields whose rules live in this crate, for
//! `#[schema(schema_with = ...)]`: the OpenAPI document then says exactly
//! what the parsers accept, so a client generator or a contract test that
//! trusts it sends nothing the server refuses (and nothing it would take
//! that the document forbids).

use utoipa::openapi::{
    ObjectBuilder, Type,
    schema::{Object, SchemaType},
};

/// What a required text field must contain somewhere: a character that is
/// not white space. The class is spelled out, because `\s` differs between
/// regex engines (ECMA-262's has U+FEFF, Rust's and Python's U+0085); these
/// are both, as [`is_blank`] counts them. Field attributes repeat it as a
/// literal.
pub const NOT_BLANK: &str =
    r"[^\t\n\x0B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]";

/// Is this text empty or only white space, as [`NOT_BLANK`] sees it?
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || c == '\u{feff}')
}

/// Characters of an email's local part besides letters and digits.
const EMAIL_LOCAL: &str = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
/// One label of a domain name.
const DNS_LABEL: &str = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/// Addresses [`crate::email::Email::parse`] accepts: dot-separated atoms
/// (here at most four, so that the local part stays within its 64
/// characters, which a pattern cannot count otherwise), `@`, two or more
/// labels, an alphabetic top-level domain; spaces around are trimmed.
pub fn email_pattern() -> String {
    format!(
        r"^\s*{EMAIL_LOCAL}{{1,16}}(?:\.{EMAIL_LOCAL}{{1,15}}){{0,3}}@(?:{DNS_LABEL}\.)+[A-Za-z]{{2,63}}\s*$"
    )
}

/// An email address (compared case-insensitively).
pub fn email() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(254))
        .pattern(Some(email_pattern()))
        .description(Some("An email address; compared case-insensitively."))
        .build()
}

/// [`email`], or null.
pub fn optional_email() -> Object {
    nullable(email())
}

/// A pattern matching exactly these codes, in any letter case.
fn any_case(codes: impl Iterator<Item = &'static str>) -> String {
    let alternatives: Vec<String> = codes
        .map(|code| {
            code.chars()
                .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()))
                .collect()
        })
        .collect();
    format!("^(?:{})$", alternatives.join("|"))
}

/// An ISO 3166-1 alpha-2 country code, any letter case (stored upper-cased).
pub fn country() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(any_case(crate::address::country_codes())))
        .description(Some(
            "ISO 3166-1 alpha-2 code, such as DE or US (any letter case).",
        ))
        .build()
}

/// A list of [`country`] codes, or `["*"]` for everywhere (a shipping
/// option's destinations).
pub fn countries() -> utoipa::openapi::schema::Array {
    let code = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            r"^(?:\*|{})$",
            any_case(crate::address::country_codes())
                .trim_start_matches('^')
                .trim_end_matches('$')
        )))
        .build();
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(code)
        .min_items(Some(1))
        .max_items(Some(300))
        .description(Some(
            "ISO 3166-1 alpha-2 codes (any letter case), or [\"*\"] for everywhere.",
        ))
        .build()
}

/// [`country`], or null to keep the current one.
pub fn optional_country() -> Object {
    nullable(country())
}

/// An active ISO 4217 currency code, any letter case (stored upper-cased).
pub fn currency() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(any_case(crate::money::currency_codes())))
        .description(Some("ISO 4217 code, such as USD or EUR (any letter case)."))
        .build()
}

/// An active ISO 4217 code in upper case, as a price names it.
pub fn currency_upper() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::money::currency_codes()))
        .description(Some("ISO 4217 code in upper case, such as USD or EUR."))
        .build()
}

/// A price as a request gives it: a positive amount of minor units in an
/// upper-case ISO 4217 currency.
pub fn price() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "amount",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(1))
                .description(Some("Minor units, more than 0.")),
        )
        .property("currency", currency_upper())
        .required("amount")
        .required("currency")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ))
        .build()
}

/// [`currency`], or null for the default.
pub fn optional_currency() -> Object {
    nullable(currency())
}

/// The same schema, also allowing null (an enum's values included).
pub fn nullable(mut schema: Object) -> Object {
    let own = match &schema.schema_type {
        SchemaType::Type(own) => own.clone(),
        _ => Type::Object,
    };
    schema.schema_type = SchemaType::from_iter([own, Type::Null]);
    if let Some(values) = &mut schema.enum_values {
        values.push(serde_json::Value::Null);
    }
    schema
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    #[test]
    fn the_email_pattern_agrees_with_the_parser() {
        let pattern = Regex::new(&email_pattern()).unwrap();
        for candidate in [
            "ada+shop@example.com",
            "o'brien@mail.example.co.uk",
            " Ada@Example.COM ",
            "x@ab.io",
            "ada",
            "ada@example",
            "a..da@example.com",
            ".ada@example.com",
            "ada@-example.com",
            "ada@example.c0m",
            "a b@example.com",
            "ada@@example.com",
        ] {
            assert_eq!(
                pattern.is_match(candidate),
                crate::email::Email::parse(candidate).is_ok(),
                "{candidate:?}"
            );
        }
    }

    #[test]
    fn blank_means_the_same_to_the_server_and_the_pattern() {
        let not_blank = Regex::new(NOT_BLANK).unwrap();
        for text in [
            "",
            " ",
            "\t\n",
            "\u{85}",
            "\u{a0}\u{3000}",
            "\u{feff}",
            " a ",
            "\u{e}",
            "0",
        ] {
            assert_eq!(is_blank(text), !not_blank.is_match(text), "{text:?}");
        }
    }

    #[test]
    fn codes_match_in_any_case_and_nothing_else() {
        let countries = Regex::new(country().pattern.as_deref().unwrap()).unwrap();
        assert!(countries.is_match("GB") && countries.is_match("gb") && countries.is_match("gB"));
        assert!(
            !countries.is_match("XX") && !countries.is_match("GBR") && !countries.is_match(" GB")
        );
        let currencies = Regex::new(currency().pattern.as_deref().unwrap()).unwrap();
        assert!(currencies.is_match("usd") && currencies.is_match("EUR"));
        assert!(!currencies.is_match("ABC") && !currencies.is_match("US"));
    }
}
