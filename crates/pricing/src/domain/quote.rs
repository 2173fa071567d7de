//! A quote: which promotions apply to a cart, which shipping option and
//! tax rate its destination gets, and the totals they make.

use uuid::Uuid;

use super::{
    promotion::{Promotion, Refusal, Uses},
    rules::{ShippingOption, TaxRate, cheapest, rate_for},
    totals::{self, Input, Totals, TotalsError},
};

/// What is priced.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The cart's currency.
    pub currency: &'a str,
    /// Each line's `(quantity, unit_price)`, in cart order.
    pub lines: &'a [(i64, i64)],
    /// The code the customer applied, normalized.
    pub code: Option<&'a str>,
    /// Where it goes, when known: country and region.
    pub destination: Option<(&'a str, Option<&'a str>)>,
    /// The option the customer chose; None takes the cheapest serving one.
    pub shipping_option: Option<Uuid>,
    /// Unix ms.
    pub now: i64,
}

/// The definitions a quote is made from.
#[derive(Debug, Clone, Copy)]
pub struct Definitions<'a> {
    /// The automatic promotions and the one with the request's code (any
    /// others are ignored).
    pub promotions: &'a [Promotion],
    /// Shipping options (inactive ones never serve).
    pub options: &'a [ShippingOption],
    /// Tax rates.
    pub rates: &'a [TaxRate],
}

/// A promotion that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Which.
    pub promotion_id: Uuid,
    /// Its code, or None for an automatic one.
    pub code: Option<String>,
    /// What it took off (0 for free shipping).
    pub discount: i64,
    /// Its limits, which the order's placing enforces.
    pub usage_limit: Option<i64>,
    /// Its limit per customer.
    pub usage_limit_per_customer: Option<i64>,
}

/// A priced cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Every total.
    pub totals: Totals,
    /// The promotions that applied, automatic ones first.
    pub applied: Vec<Applied>,
    /// The option shipping is priced with: id and name.
    pub shipping_option: Option<(Uuid, String)>,
    /// The tax rate's name, when the destination has one.
    pub tax_rate: Option<String>,
}

/// Why a cart cannot be quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// The code does not apply.
    #[error("code {code}: {}", .refusal.message())]
    Code {
        /// The code, as stored.
        code: String,
        /// Why not.
        refusal: Refusal,
    },
    /// The chosen option does not ship there in this currency.
    #[error("the shipping option does not serve this address")]
    ShippingOption,
    /// The amounts are out of range.
    #[error(transparent)]
    Totals(#[from] TotalsError),
}

/// Prices `request`; `uses` says how often a promotion has been used.
pub fn quote(
    request: Request<'_>,
    definitions: Definitions<'_>,
    uses: impl Fn(&Promotion) -> Uses,
) -> Result<Quote, QuoteError> {
    let subtotal = totals::compute(Input {
        lines: request.lines,
        deductions: &[],
        shipping: None,
        tax: None,
    })?
    .subtotal;
    let check = |p: &Promotion| p.check(request.currency, subtotal, request.now, uses(p));
    // Automatic promotions that apply, oldest first; one that does not is
    // simply not there. The code must apply, or the quote says why.
    let mut chosen: Vec<&Promotion> = definitions
        .promotions
        .iter()
        .filter(|p| p.code.is_none() && check(p).is_ok())
        .collect();
    chosen.sort_by_key(|p| (p.created_at, p.id));
    if let Some(code) = request.code {
        let promotion = definitions
            .promotions
            .iter()
            .find(|p| p.code.as_deref() == Some(code))
            .ok_or(QuoteError::Code {
                code: code.to_owned(),
                refusal: Refusal::Unknown,
            })?;
        check(promotion).map_err(|refusal| QuoteError::Code {
            code: code.to_owned(),
            refusal,
        })?;
        chosen.push(promotion);
    }
    let deductions: Vec<_> = chosen.iter().map(|p| p.deduction()).collect();
    // The discount decides the option's price, so it is known first.
    let discounted = totals::compute(Input {
        lines: request.lines,
        deductions: &deductions,
        shipping: None,
        tax: None,
    })?;
    let after_discount = discounted.subtotal - discounted.discount_total;
    let (option, rate) = match request.destination {
        None => (None, None),
        Some((country, region)) => {
            let option = match request.shipping_option {
                Some(id) => Some(
                    definitions
                        .options
                        .iter()
                        .find(|o| o.id == id && o.serves(country, request.currency))
                        .ok_or(QuoteError::ShippingOption)?,
                ),
                None => cheapest(
                    definitions.options,
                    country,
                    request.currency,
                    after_discount,
                ),
            };
            (option, rate_for(definitions.rates, country, region))
        }
    };
    let totals = totals::compute(Input {
        lines: request.lines,
        deductions: &deductions,
        shipping: option.map(ShippingOption::shipping),
        tax: rate.map(TaxRate::tax),
    })?;
    let applied = chosen
        .iter()
        .zip(&totals.discounts)
        .map(|(p, &discount)| Applied {
            promotion_id: p.id,
            code: p.code.clone(),
            discount,
            usage_limit: p.usage_limit,
            usage_limit_per_customer: p.usage_limit_per_customer,
        })
        .collect();
    Ok(Quote {
        totals,
        applied,
        shipping_option: option.map(|o| (o.id, o.name.clone())),
        tax_rate: rate.map(|r| r.name.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::promotion::Kind;

    fn promotion(code: Option<&str>, kind: Kind, value: i64, created_at: i64) -> Promotion {
        Promotion {
            id: Uuid::now_v7(),
            code: code.map(Into::into),
            name: "promo".into(),
            kind,
            value,
            currency: None,
            min_subtotal: None,
            starts_at: None,
            ends_at: None,
            usage_limit: None,
            usage_limit_per_customer: None,
            active: true,
            created_at,
        }
    }

    fn option(price: i64, free_over: Option<i64>) -> ShippingOption {
        ShippingOption {
            id: Uuid::now_v7(),
            name: "Standard".into(),
            countries: vec!["FR".into()],
            currency: "EUR".into(),
            price,
            free_over,
            min_days: Some(2),
            max_days: Some(4),
            active: true,
            created_at: 0,
        }
    }

    fn vat() -> TaxRate {
        TaxRate {
            id: Uuid::nil(),
            country: "FR".into(),
            region: None,
            name: "TVA".into(),
            rate: 2000,
            applies_to_shipping: true,
        }
    }

    fn request<'a>(lines: &'a [(i64, i64)], code: Option<&'a str>) -> Request<'a> {
        Request {
            currency: "EUR",
            lines,
            code,
            destination: Some(("FR", None)),
            shipping_option: None,
            now: 1_000,
        }
    }

    #[test]
    fn a_code_an_automatic_promotion_shipping_and_tax_make_one_total() {
        let promotions = [
            promotion(Some("TENOFF"), Kind::Percentage, 1000, 2),
            promotion(None, Kind::Fixed, 500, 1),
        ];
        let options = [option(700, None)];
        let rates = [vat()];
        let defs = Definitions {
            promotions: &promotions,
            options: &options,
            rates: &rates,
        };
        let q = quote(request(&[(2, 2500)], Some("TENOFF")), defs, |_| {
            Uses::default()
        })
        .unwrap();
        // 5000: 500 automatic, then 10 % of 5000; shipping 700; 20 % on 4000 + 700.
        assert_eq!(q.totals.discount_total, 1000);
        assert_eq!(
            q.applied.iter().map(|a| a.discount).collect::<Vec<_>>(),
            [500, 500]
        );
        assert_eq!(q.applied[0].code, None);
        assert_eq!((q.totals.shipping_total, q.totals.tax_total), (700, 940));
        assert_eq!(q.totals.total, 5000 - 1000 + 700 + 940);
        assert_eq!(q.shipping_option.map(|(_, n)| n), Some("Standard".into()));
        assert_eq!(q.tax_rate.as_deref(), Some("TVA"));
    }

    #[test]
    fn a_code_that_cannot_apply_says_why_and_an_automatic_one_is_left_out() {
        let mut limited = promotion(Some("ONCE"), Kind::Fixed, 100, 0);
        limited.usage_limit = Some(1);
        let mut small = promotion(None, Kind::Fixed, 100, 0);
        small.min_subtotal = Some(10_000);
        let promotions = [limited, small];
        let defs = Definitions {
            promotions: &promotions,
            options: &[],
            rates: &[],
        };
        let used = |_: &Promotion| Uses {
            total: 1,
            by_customer: 0,
        };
        assert_eq!(
            quote(request(&[(1, 500)], Some("ONCE")), defs, used),
            Err(QuoteError::Code {
                code: "ONCE".into(),
                refusal: Refusal::UsedUp
            })
        );
        assert_eq!(
            quote(request(&[(1, 500)], Some("NOPE")), defs, used),
            Err(QuoteError::Code {
                code: "NOPE".into(),
                refusal: Refusal::Unknown
            })
        );
        let q = quote(request(&[(1, 500)], None), defs, used).unwrap();
        assert!(q.applied.is_empty());
        assert_eq!((q.totals.total, q.shipping_option), (500, None));
    }

    #[test]
    fn a_chosen_option_must_serve_the_address_and_free_shipping_zeroes_it() {
        let options = [option(700, Some(3000))];
        let promotions = [promotion(Some("SHIPFREE"), Kind::FreeShipping, 0, 0)];
        let defs = Definitions {
            promotions: &promotions,
            options: &options,
            rates: &[],
        };
        let mut elsewhere = request(&[(1, 1000)], None);
        elsewhere.destination = Some(("DE", None));
        elsewhere.shipping_option = Some(options[0].id);
        assert_eq!(
            quote(elsewhere, defs, |_| Uses::default()),
            Err(QuoteError::ShippingOption)
        );
        let paid = quote(request(&[(1, 1000)], None), defs, |_| Uses::default()).unwrap();
        assert_eq!(paid.totals.shipping_total, 700);
        let free = quote(request(&[(1, 1000)], Some("SHIPFREE")), defs, |_| {
            Uses::default()
        })
        .unwrap();
        assert_eq!(
            (free.totals.shipping_total, free.applied[0].discount),
            (0, 0)
        );
        let over = quote(request(&[(1, 3000)], None), defs, |_| Uses::default()).unwrap();
        assert_eq!(over.totals.shipping_total, 0);
    }
}
