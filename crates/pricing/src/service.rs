//! Pricing's use cases: the definitions an admin keeps, the quotes cart and
//! orders ask for, and the uses mirrored from the order events.

use std::{collections::HashMap, sync::Arc, time::Duration};

use contracts::{
    clients::pricing::{
        AppliedPromotion, LinePrice, OptionPrice, PriceQuote, QuoteRequest, ShippingChoice,
        customer_key,
    },
    events::orders::{OrderCancelled, OrderPlaced},
};
use platform::{
    FieldError,
    db::Db,
    http::pagination::{Page, PageRequest},
    time::now_millis,
};
use uuid::Uuid;

use crate::{
    domain::{
        promotion::{Kind, Promotion, Refusal, Uses, normalize_code},
        quote::{self, Definitions, QuoteError, Request},
        rules::{ShippingOption, TaxRate},
        totals::TotalsError,
        validate,
    },
    error::{PricingError, Result},
    store,
    tax::TaxProvider,
};

/// The pricing service.
pub struct PricingService {
    db: Db,
    tax: Arc<dyn TaxProvider>,
    tax_timeout: Duration,
}

impl std::fmt::Debug for PricingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PricingService").finish_non_exhaustive()
    }
}

fn valid(errors: Vec<FieldError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PricingError::Validation(errors))
    }
}

impl PricingService {
    /// The service over a migrated database, taking rates from `tax`.
    pub fn new(db: Db, tax: Arc<dyn TaxProvider>, tax_timeout: Duration) -> Self {
        Self {
            db,
            tax,
            tax_timeout,
        }
    }

    // ---- shipping options ----

    /// Creates a shipping option.
    pub async fn create_option(&self, mut option: ShippingOption) -> Result<ShippingOption> {
        valid(validate::option_errors(&option))?;
        option.id = Uuid::now_v7();
        option.created_at = now_millis();
        store::insert_option(self.db.pool(), &option).await?;
        Ok(option)
    }

    /// Changes a shipping option by `change`, checked whole afterwards.
    pub async fn update_option(
        &self,
        option_id: Uuid,
        change: impl FnOnce(ShippingOption) -> Result<ShippingOption, Vec<FieldError>>,
    ) -> Result<ShippingOption> {
        let current = store::find_option(self.db.pool(), option_id)
            .await?
            .ok_or(PricingError::NotFound("shipping option"))?;
        let option = change(current).map_err(PricingError::Validation)?;
        valid(validate::option_errors(&option))?;
        if !store::update_option(self.db.pool(), &option, now_millis()).await? {
            return Err(PricingError::NotFound("shipping option"));
        }
        Ok(option)
    }

    /// Deletes a shipping option (placed orders keep its name and price).
    pub async fn delete_option(&self, option_id: Uuid) -> Result<()> {
        if store::delete_option(self.db.pool(), option_id).await? {
            Ok(())
        } else {
            Err(PricingError::NotFound("shipping option"))
        }
    }

    /// The active options serving `country` in `currency`; without both,
    /// every option (admins) or none.
    pub async fn options(
        &self,
        country: Option<&str>,
        currency: Option<&str>,
        admin: bool,
    ) -> Result<Vec<ShippingOption>> {
        let country = country.map(str::to_ascii_uppercase);
        let currency = currency.map(str::to_ascii_uppercase);
        // Letters of the right count, as the document's patterns say.
        let malformed = |code: &Option<String>, len: usize| {
            code.as_ref()
                .is_some_and(|c| c.len() != len || !c.bytes().all(|b| b.is_ascii_uppercase()))
        };
        let mut errors = Vec::new();
        if malformed(&country, 2) {
            errors.push(FieldError::new(
                "country",
                "must be an ISO 3166-1 alpha-2 code",
            ));
        }
        if malformed(&currency, 3) {
            errors.push(FieldError::new("currency", "must be an ISO 4217 code"));
        }
        valid(errors)?;
        // A code that names no country has no options, not even "*" ones.
        if country
            .as_deref()
            .is_some_and(|c| !platform::address::is_country_code(c))
        {
            return Ok(Vec::new());
        }
        if country.is_none() && currency.is_none() && admin {
            return Ok(store::options(self.db.pool(), None).await?);
        }
        let options = store::options(self.db.pool(), currency.as_deref()).await?;
        Ok(options
            .into_iter()
            .filter(|o| match &country {
                Some(country) => o.serves(country, &o.currency),
                None => o.active,
            })
            .collect())
    }

    // ---- tax rates ----

    /// Creates a tax rate; one per country and region.
    pub async fn create_rate(&self, mut rate: TaxRate) -> Result<TaxRate> {
        valid(validate::rate_errors(&rate))?;
        rate.id = Uuid::now_v7();
        store::insert_rate(self.db.pool(), &rate, now_millis())
            .await
            .map_err(rate_clash)?;
        Ok(rate)
    }

    /// Changes a tax rate by `change`, checked whole afterwards.
    pub async fn update_rate(
        &self,
        rate_id: Uuid,
        change: impl FnOnce(TaxRate) -> Result<TaxRate, Vec<FieldError>>,
    ) -> Result<TaxRate> {
        let current = store::find_rate(self.db.pool(), rate_id)
            .await?
            .ok_or(PricingError::NotFound("tax rate"))?;
        let rate = change(current).map_err(PricingError::Validation)?;
        valid(validate::rate_errors(&rate))?;
        if !store::update_rate(self.db.pool(), &rate, now_millis())
            .await
            .map_err(rate_clash)?
        {
            return Err(PricingError::NotFound("tax rate"));
        }
        Ok(rate)
    }

    /// Deletes a tax rate.
    pub async fn delete_rate(&self, rate_id: Uuid) -> Result<()> {
        if store::delete_rate(self.db.pool(), rate_id).await? {
            Ok(())
        } else {
            Err(PricingError::NotFound("tax rate"))
        }
    }

    /// Every tax rate.
    pub async fn rates(&self) -> Result<Vec<TaxRate>> {
        Ok(store::rates(self.db.pool()).await?)
    }

    // ---- promotions ----

    /// Creates a promotion; its code, if any, unique in any case.
    pub async fn create_promotion(&self, mut promotion: Promotion) -> Result<(Promotion, i64)> {
        valid(validate::promotion_errors(&promotion))?;
        promotion.id = Uuid::now_v7();
        promotion.created_at = now_millis();
        store::insert_promotion(self.db.pool(), &promotion)
            .await
            .map_err(code_clash)?;
        Ok((promotion, 0))
    }

    /// A promotion and how often it is used.
    pub async fn promotion(&self, promotion_id: Uuid) -> Result<(Promotion, i64)> {
        store::find_promotion(self.db.pool(), promotion_id)
            .await?
            .ok_or(PricingError::NotFound("promotion"))
    }

    /// Changes a promotion by `change`, checked whole afterwards.
    pub async fn update_promotion(
        &self,
        promotion_id: Uuid,
        change: impl FnOnce(Promotion) -> Result<Promotion, Vec<FieldError>>,
    ) -> Result<(Promotion, i64)> {
        let (current, used) = self.promotion(promotion_id).await?;
        let promotion = change(current).map_err(PricingError::Validation)?;
        valid(validate::promotion_errors(&promotion))?;
        if !store::update_promotion(self.db.pool(), &promotion, now_millis())
            .await
            .map_err(code_clash)?
        {
            return Err(PricingError::NotFound("promotion"));
        }
        Ok((promotion, used))
    }

    /// Deletes a promotion: carts no longer get it; orders keep theirs.
    pub async fn delete_promotion(&self, promotion_id: Uuid) -> Result<()> {
        if store::delete_promotion(self.db.pool(), promotion_id).await? {
            Ok(())
        } else {
            Err(PricingError::NotFound("promotion"))
        }
    }

    /// A page of promotions, oldest first.
    pub async fn promotions(&self, page: &PageRequest) -> Result<Page<(Promotion, i64)>> {
        let after = page
            .after
            .as_deref()
            .map(|key| {
                key.split_once('/')
                    .and_then(|(at, id)| Some((at.parse().ok()?, Uuid::parse_str(id).ok()?)))
                    .ok_or_else(|| PricingError::field("cursor", "is not a cursor this API issued"))
            })
            .transpose()?;
        let rows = store::promotions(self.db.pool(), after, page.fetch_limit()).await?;
        Ok(Page::from_rows(rows, page, |(p, _)| {
            format!("{}/{}", p.created_at, p.id)
        }))
    }

    // ---- quotes ----

    /// Prices a cart: its promotions and, with a destination, its shipping
    /// and tax.
    pub async fn quote(&self, request: &QuoteRequest) -> Result<PriceQuote> {
        let lines = check_request(request)?;
        let code = match request.code.as_deref() {
            None => None,
            Some(raw) => Some(normalize_code(raw).ok_or_else(|| PricingError::Refused {
                code: raw.trim().to_ascii_uppercase(),
                refusal: Refusal::Unknown,
            })?),
        };
        let currency = request.currency.to_ascii_uppercase();
        let country = request.country.as_deref().map(str::to_ascii_uppercase);
        let promotions = store::applicable(self.db.pool(), code.as_deref()).await?;
        let mut uses = HashMap::new();
        for p in promotions
            .iter()
            .filter(|p| p.usage_limit.is_some() || p.usage_limit_per_customer.is_some())
        {
            let used = store::uses(self.db.pool(), p.id, request.customer_key.as_deref()).await?;
            uses.insert(p.id, used);
        }
        let (options, rates) = match &country {
            None => (Vec::new(), Vec::new()),
            Some(country) => (
                store::options(self.db.pool(), Some(&currency)).await?,
                self.tax_rates(country).await?,
            ),
        };
        let quoted = quote::quote(
            Request {
                currency: &currency,
                lines: &lines,
                code: code.as_deref(),
                destination: country.as_deref().map(|c| (c, request.region.as_deref())),
                shipping_option: request.shipping_option_id,
                now: now_millis(),
            },
            Definitions {
                promotions: &promotions,
                options: &options,
                rates: &rates,
            },
            |p| uses.get(&p.id).copied().unwrap_or(Uses::default()),
        )
        .map_err(|e| match e {
            QuoteError::Code { code, refusal } => PricingError::Refused { code, refusal },
            QuoteError::ShippingOption => PricingError::ShippingOption,
            QuoteError::Totals(TotalsError::OutOfRange) => {
                PricingError::field("lines", "a quantity or price is out of range")
            }
            QuoteError::Totals(TotalsError::Overflow) => {
                PricingError::field("lines", "the total is too large")
            }
        })?;
        let totals = &quoted.totals;
        let free_shipping = quoted.applied.iter().any(|a| {
            promotions
                .iter()
                .any(|p| p.id == a.promotion_id && p.kind == Kind::FreeShipping)
        });
        let after_discount = totals.subtotal - totals.discount_total;
        let mut serving: Vec<&ShippingOption> = match &country {
            Some(country) => options
                .iter()
                .filter(|o| o.serves(country, &currency))
                .collect(),
            None => Vec::new(),
        };
        serving.sort_by_key(|o| (o.price_for(after_discount), o.created_at, o.id));
        Ok(PriceQuote {
            lines: totals
                .lines
                .iter()
                .map(|l| LinePrice {
                    line_total: l.line_total,
                    discount: l.discount,
                    tax: l.tax,
                })
                .collect(),
            subtotal: totals.subtotal,
            discount_total: totals.discount_total,
            shipping_total: totals.shipping_total,
            tax_total: totals.tax_total,
            total: totals.total,
            promotions: quoted
                .applied
                .into_iter()
                .map(|a| AppliedPromotion {
                    promotion_id: a.promotion_id,
                    code: a.code,
                    discount: a.discount,
                    usage_limit: a.usage_limit,
                    usage_limit_per_customer: a.usage_limit_per_customer,
                })
                .collect(),
            shipping_option: quoted
                .shipping_option
                .map(|(id, name)| ShippingChoice { id, name }),
            shipping_options: serving
                .into_iter()
                .map(|o| OptionPrice {
                    id: o.id,
                    name: o.name.clone(),
                    price: if free_shipping {
                        0
                    } else {
                        o.price_for(after_discount)
                    },
                    min_days: o.min_days,
                    max_days: o.max_days,
                })
                .collect(),
        })
    }

    /// The destination's rates from the provider, within the timeout.
    async fn tax_rates(&self, country: &str) -> Result<Vec<TaxRate>> {
        match tokio::time::timeout(self.tax_timeout, self.tax.rates(country)).await {
            Ok(Ok(rates)) => Ok(rates),
            Ok(Err(e)) => Err(PricingError::TaxUnavailable(format!("{e:#}"))),
            Err(_) => Err(PricingError::TaxUnavailable(format!(
                "no answer within {} ms",
                self.tax_timeout.as_millis()
            ))),
        }
    }

    // ---- the uses mirror ----

    /// `order.placed`: the order's promotions are used once each (unless
    /// its cancellation came first).
    pub async fn on_order_placed(&self, placed: &OrderPlaced) -> anyhow::Result<()> {
        if placed.promotions.is_empty() {
            return Ok(());
        }
        let key = customer_key(placed.customer_id, &placed.email);
        let mut tx = self.db.begin_write().await?;
        if !store::is_released(&mut *tx, placed.order_id).await? {
            for p in &placed.promotions {
                store::record_use(&mut *tx, placed.order_id, p.promotion_id, &key).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// `order.cancelled`: its uses are given back.
    pub async fn on_order_cancelled(&self, cancelled: &OrderCancelled) -> anyhow::Result<()> {
        let mut tx = self.db.begin_write().await?;
        store::release_uses(&mut tx, cancelled.order_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The request's lines as `(quantity, unit_price)`, or what is wrong with it.
fn check_request(request: &QuoteRequest) -> Result<Vec<(i64, i64)>> {
    let mut errors = Vec::new();
    if !platform::money::is_currency(&request.currency.to_ascii_uppercase()) {
        errors.push(FieldError::new("currency", "must be an ISO 4217 code"));
    }
    if request.lines.len() > 1000
        || request
            .lines
            .iter()
            .any(|l| !(1..=9_999).contains(&l.quantity) || l.unit_price < 0)
    {
        errors.push(FieldError::new(
            "lines",
            "must be at most 1000 lines of 1 to 9999 units at a price of at least 0",
        ));
    }
    if request
        .region
        .as_ref()
        .is_some_and(|r| r.chars().count() > 200)
    {
        errors.push(FieldError::new("region", "must be at most 200 characters"));
    }
    if request.customer_key.as_ref().is_some_and(|k| k.len() > 300) {
        errors.push(FieldError::new(
            "customer_key",
            "must be at most 300 characters",
        ));
    }
    if let Some(country) = &request.country
        && !platform::address::is_country_code(&country.to_ascii_uppercase())
    {
        errors.push(FieldError::new(
            "country",
            "must be an ISO 3166-1 alpha-2 code",
        ));
    }
    valid(errors)?;
    Ok(request
        .lines
        .iter()
        .map(|l| (l.quantity, l.unit_price))
        .collect())
}

fn rate_clash(e: sqlx::Error) -> PricingError {
    if platform::db::is_unique_violation(&e, store::RATE_PLACE_KEY, "tax_rate.country") {
        PricingError::RateExists
    } else {
        e.into()
    }
}

fn code_clash(e: sqlx::Error) -> PricingError {
    if platform::db::is_unique_violation(&e, store::CODE_KEY, "promotion.code") {
        PricingError::CodeTaken
    } else {
        e.into()
    }
}
