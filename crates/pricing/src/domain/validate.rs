//! What makes a definition valid, field by field (API.md "Pricing").

use platform::FieldError;

use super::{
    promotion::{Kind, Promotion},
    rules::{EVERYWHERE, ShippingOption, TaxRate},
};

/// Basis points: 0 to 100 %.
pub const RATE_MAX: i64 = 10_000;
const NAME_MAX: usize = 200;
/// More than anyone ships in (it bounds a stored list).
const COUNTRIES_MAX: usize = 300;
const DAYS_MAX: i64 = 365;

fn name(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if platform::http::schema::is_blank(value) || value.chars().count() > NAME_MAX {
        errors.push(FieldError::new(field, "must be 1 to 200 characters"));
    }
}

fn currency(errors: &mut Vec<FieldError>, value: &str) {
    if !platform::money::is_currency(value) {
        errors.push(FieldError::new(
            "currency",
            "must be an ISO 4217 code such as EUR",
        ));
    }
}

fn at_least(errors: &mut Vec<FieldError>, field: &str, value: Option<i64>, min: i64) {
    if value.is_some_and(|v| v < min) {
        errors.push(FieldError::new(field, format!("must be at least {min}")));
    }
}

/// A shipping option's problems (none: valid).
pub fn option_errors(o: &ShippingOption) -> Vec<FieldError> {
    let mut errors = Vec::new();
    name(&mut errors, "name", &o.name);
    let everywhere = o.countries.len() == 1 && o.countries[0] == EVERYWHERE;
    if o.countries.is_empty()
        || o.countries.len() > COUNTRIES_MAX
        || !(everywhere
            || o.countries
                .iter()
                .all(|c| platform::address::is_country_code(c)))
    {
        errors.push(FieldError::new(
            "countries",
            "must be a non-empty list of ISO 3166-1 alpha-2 codes such as DE, or [\"*\"] for everywhere",
        ));
    }
    currency(&mut errors, &o.currency);
    at_least(&mut errors, "price", Some(o.price), 0);
    at_least(&mut errors, "free_over", o.free_over, 0);
    for (field, days) in [("min_days", o.min_days), ("max_days", o.max_days)] {
        if days.is_some_and(|d| !(0..=DAYS_MAX).contains(&d)) {
            errors.push(FieldError::new(field, "must be 0 to 365 days"));
        }
    }
    if let (Some(min), Some(max)) = (o.min_days, o.max_days)
        && min > max
    {
        errors.push(FieldError::new(
            "max_days",
            "must not be less than min_days",
        ));
    }
    errors
}

/// A tax rate's problems (none: valid).
pub fn rate_errors(r: &TaxRate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !platform::address::is_country_code(&r.country) {
        errors.push(FieldError::new(
            "country",
            "must be an ISO 3166-1 alpha-2 code such as DE",
        ));
    }
    if let Some(region) = &r.region {
        name(&mut errors, "region", region);
    }
    name(&mut errors, "name", &r.name);
    if !(0..=RATE_MAX).contains(&r.rate) {
        errors.push(FieldError::new(
            "rate",
            "must be 0 to 10000 basis points (2000 is 20 %)",
        ));
    }
    errors
}

/// A promotion's problems (none: valid).
pub fn promotion_errors(p: &Promotion) -> Vec<FieldError> {
    let mut errors = Vec::new();
    name(&mut errors, "name", &p.name);
    match p.kind {
        Kind::Percentage if !(1..=RATE_MAX).contains(&p.value) => errors.push(FieldError::new(
            "value",
            "must be 1 to 10000 basis points for a percentage (1000 is 10 %)",
        )),
        Kind::Fixed if p.value < 1 => errors.push(FieldError::new(
            "value",
            "must be a positive amount in minor units",
        )),
        Kind::Fixed if p.currency.is_none() => errors.push(FieldError::new(
            "currency",
            "is required for a fixed amount",
        )),
        Kind::FreeShipping if p.value != 0 => {
            errors.push(FieldError::new("value", "must be 0 for free shipping"))
        }
        _ => {}
    }
    if let Some(code) = &p.currency {
        currency(&mut errors, code);
    }
    at_least(&mut errors, "min_subtotal", p.min_subtotal, 0);
    at_least(&mut errors, "usage_limit", p.usage_limit, 1);
    at_least(
        &mut errors,
        "usage_limit_per_customer",
        p.usage_limit_per_customer,
        1,
    );
    if let (Some(start), Some(end)) = (p.starts_at, p.ends_at)
        && start >= end
    {
        errors.push(FieldError::new("ends_at", "must be after starts_at"));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn option() -> ShippingOption {
        ShippingOption {
            id: Uuid::nil(),
            name: "Standard".into(),
            countries: vec!["DE".into(), "FR".into()],
            currency: "EUR".into(),
            price: 499,
            free_over: Some(5000),
            min_days: Some(2),
            max_days: Some(4),
            active: true,
            created_at: 0,
        }
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_shipping_option_needs_places_a_currency_and_sane_days() {
        assert!(option_errors(&option()).is_empty());
        let everywhere = ShippingOption {
            countries: vec!["*".into()],
            ..option()
        };
        assert!(option_errors(&everywhere).is_empty());
        for countries in [vec![], vec!["*".into(), "DE".into()], vec!["de".into()]] {
            let bad = ShippingOption {
                countries,
                ..option()
            };
            assert_eq!(fields(option_errors(&bad)), ["countries"]);
        }
        let bad = ShippingOption {
            name: " ".into(),
            currency: "EURO".into(),
            price: -1,
            min_days: Some(5),
            max_days: Some(3),
            ..option()
        };
        assert_eq!(
            fields(option_errors(&bad)),
            ["name", "currency", "price", "max_days"]
        );
    }

    #[test]
    fn a_rate_is_basis_points_of_a_country() {
        let rate = TaxRate {
            id: Uuid::nil(),
            country: "DE".into(),
            region: None,
            name: "MwSt".into(),
            rate: 1900,
            applies_to_shipping: true,
        };
        assert!(rate_errors(&rate).is_empty());
        let bad = TaxRate {
            country: "Germany".into(),
            rate: 10_001,
            ..rate
        };
        assert_eq!(fields(rate_errors(&bad)), ["country", "rate"]);
    }

    #[test]
    fn each_kind_has_its_own_value_rule() {
        let promotion = |kind, value, currency: Option<&str>| Promotion {
            id: Uuid::nil(),
            code: Some("SPRING".into()),
            name: "Spring".into(),
            kind,
            value,
            currency: currency.map(Into::into),
            min_subtotal: None,
            starts_at: Some(10),
            ends_at: Some(20),
            usage_limit: Some(10),
            usage_limit_per_customer: Some(1),
            active: true,
            created_at: 0,
        };
        assert!(promotion_errors(&promotion(Kind::Percentage, 1000, None)).is_empty());
        assert!(promotion_errors(&promotion(Kind::Fixed, 500, Some("EUR"))).is_empty());
        assert!(promotion_errors(&promotion(Kind::FreeShipping, 0, None)).is_empty());
        assert_eq!(
            fields(promotion_errors(&promotion(Kind::Percentage, 10_001, None))),
            ["value"]
        );
        assert_eq!(
            fields(promotion_errors(&promotion(Kind::Fixed, 500, None))),
            ["currency"]
        );
        assert_eq!(
            fields(promotion_errors(&promotion(Kind::FreeShipping, 1, None))),
            ["value"]
        );
        let window = Promotion {
            starts_at: Some(20),
            usage_limit: Some(0),
            ..promotion(Kind::Percentage, 1000, None)
        };
        assert_eq!(
            fields(promotion_errors(&window)),
            ["usage_limit", "ends_at"]
        );
    }
}
