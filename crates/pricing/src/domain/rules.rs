//! Shipping options and tax rates: which serve a destination, and what
//! they charge.

use uuid::Uuid;

use super::totals::{Shipping, Tax};

/// Everywhere, in a shipping option's countries.
pub const EVERYWHERE: &str = "*";

/// A way of shipping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingOption {
    /// Its id.
    pub id: Uuid,
    /// Shown at checkout.
    pub name: String,
    /// ISO 3166-1 alpha-2 codes, or `["*"]`.
    pub countries: Vec<String>,
    /// The currency of its price.
    pub currency: String,
    /// Minor units.
    pub price: i64,
    /// Free when the discounted subtotal is at least this.
    pub free_over: Option<i64>,
    /// Delivery estimate, in days.
    pub min_days: Option<i64>,
    /// Delivery estimate, in days.
    pub max_days: Option<i64>,
    /// Offered.
    pub active: bool,
    /// Unix ms; breaks ties between equally cheap options.
    pub created_at: i64,
}

impl ShippingOption {
    /// Whether it ships to `country` in `currency`.
    pub fn serves(&self, country: &str, currency: &str) -> bool {
        self.active
            && self.currency == currency
            && self
                .countries
                .iter()
                .any(|c| c == EVERYWHERE || c == country)
    }

    /// Its price rule for the totals.
    pub fn shipping(&self) -> Shipping {
        Shipping {
            price: self.price,
            free_over: self.free_over,
        }
    }

    /// What it costs on a cart whose discounted subtotal is `after_discount`.
    pub fn price_for(&self, after_discount: i64) -> i64 {
        if self.free_over.is_some_and(|f| after_discount >= f) {
            0
        } else {
            self.price
        }
    }
}

/// The cheapest of `options` serving the destination (the first created of
/// equals); `options` in any order.
pub fn cheapest<'a>(
    options: &'a [ShippingOption],
    country: &str,
    currency: &str,
    after_discount: i64,
) -> Option<&'a ShippingOption> {
    options
        .iter()
        .filter(|o| o.serves(country, currency))
        .min_by_key(|o| (o.price_for(after_discount), o.created_at, o.id))
}

/// A tax rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRate {
    /// Its id.
    pub id: Uuid,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// A region of it (as addresses write it), or None for the country.
    pub region: Option<String>,
    /// Shown on receipts.
    pub name: String,
    /// Basis points.
    pub rate: i64,
    /// Whether shipping is taxed too.
    pub applies_to_shipping: bool,
}

impl TaxRate {
    /// Its rule for the totals.
    pub fn tax(&self) -> Tax {
        Tax {
            rate: self.rate,
            applies_to_shipping: self.applies_to_shipping,
        }
    }
}

/// The rate of a destination: its region's, else its country's. Regions
/// match without regard to case or surrounding spaces.
pub fn rate_for<'a>(
    rates: &'a [TaxRate],
    country: &str,
    region: Option<&str>,
) -> Option<&'a TaxRate> {
    let region = region.map(|r| r.trim().to_lowercase());
    let in_country = || rates.iter().filter(|r| r.country == country);
    region
        .and_then(|wanted| {
            in_country().find(|r| {
                r.region
                    .as_deref()
                    .is_some_and(|have| have.trim().to_lowercase() == wanted)
            })
        })
        .or_else(|| in_country().find(|r| r.region.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(name: &str, countries: &[&str], price: i64, created_at: i64) -> ShippingOption {
        ShippingOption {
            id: Uuid::now_v7(),
            name: name.into(),
            countries: countries.iter().map(|c| (*c).to_owned()).collect(),
            currency: "EUR".into(),
            price,
            free_over: None,
            min_days: None,
            max_days: None,
            active: true,
            created_at,
        }
    }

    #[test]
    fn the_cheapest_serving_option_wins_and_the_first_created_of_equals() {
        let options = [
            option("Express", &["FR"], 1500, 1),
            option("World", &["*"], 900, 3),
            option("Standard", &["FR", "DE"], 900, 2),
            ShippingOption {
                active: false,
                ..option("Off", &["FR"], 0, 0)
            },
        ];
        assert_eq!(
            cheapest(&options, "FR", "EUR", 0).map(|o| o.name.as_str()),
            Some("Standard")
        );
        assert_eq!(
            cheapest(&options, "JP", "EUR", 0).map(|o| o.name.as_str()),
            Some("World")
        );
        assert_eq!(cheapest(&options, "FR", "USD", 0), None);
        let free = [
            option("Paid", &["*"], 100, 1),
            ShippingOption {
                free_over: Some(5000),
                ..option("Free over 50", &["*"], 700, 2)
            },
        ];
        assert_eq!(
            cheapest(&free, "FR", "EUR", 5000).map(|o| o.name.as_str()),
            Some("Free over 50")
        );
        assert_eq!(
            cheapest(&free, "FR", "EUR", 4999).map(|o| o.name.as_str()),
            Some("Paid")
        );
    }

    #[test]
    fn a_regional_rate_wins_over_its_country() {
        let rate = |region: Option<&str>, rate| TaxRate {
            id: Uuid::nil(),
            country: "US".into(),
            region: region.map(Into::into),
            name: "tax".into(),
            rate,
            applies_to_shipping: false,
        };
        let rates = [rate(None, 500), rate(Some("CA"), 725)];
        assert_eq!(
            rate_for(&rates, "US", Some(" ca ")).map(|r| r.rate),
            Some(725)
        );
        assert_eq!(
            rate_for(&rates, "US", Some("NY")).map(|r| r.rate),
            Some(500)
        );
        assert_eq!(rate_for(&rates, "US", None).map(|r| r.rate), Some(500));
        assert_eq!(rate_for(&rates, "FR", None), None);
    }
}
