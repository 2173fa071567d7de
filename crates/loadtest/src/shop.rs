//! What the shoppers can see and buy, learned from the shop before a run
//! (never part of the measurement).

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

/// The catalog as the scenarios use it.
#[derive(Debug, Default)]
pub struct Shop {
    /// Slugs of published products.
    pub slugs: Vec<String>,
    /// Ready-made list queries (filters and sorts), drawn from with the seed.
    pub list_queries: Vec<String>,
    /// Ready-made search queries.
    pub searches: Vec<String>,
    /// Variants with stock for carts and checkouts.
    pub buyable: Vec<String>,
    /// The route the `floor` scenario asks for.
    pub floor_path: String,
    /// Category slugs (the storefront's category pages).
    pub categories: Vec<String>,
    /// The promotion code checkouts apply (set up with admin credentials,
    /// with a shipping option and a tax rate for the checkout's address).
    pub checkout_code: Option<String>,
}

/// The country of the checkout scenario's address.
pub const CHECKOUT_COUNTRY: &str = "DE";
/// The code the checkout scenario applies.
const CHECKOUT_CODE: &str = "BENCH10";

/// Reads the catalog (up to `max_products`) and prepares queries with `seed`.
/// With admin credentials, tops up the stock of the variants that carts and
/// checkouts use, so that a long run never sells out, and (`priced`) gives
/// checkouts a shipping option, a tax rate and a code.
pub async fn discover(
    client: &reqwest::Client,
    base: &str,
    max_products: usize,
    seed: u64,
    admin: Option<(&str, &str)>,
    priced: bool,
) -> anyhow::Result<Shop> {
    let mut shop = Shop::default();
    let mut words = std::collections::BTreeSet::new();
    let mut stocked: Vec<(String, String, i64)> = Vec::new(); // (variant id, sku, available)
    let mut currency: Option<String> = None;
    let mut cursor: Option<String> = None;
    while shop.slugs.len() < max_products {
        let mut url = format!("{base}/api/v1/products?limit=100");
        if let Some(c) = &cursor {
            url.push_str("&cursor=");
            url.push_str(c);
        }
        let page: Value = client
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let items = page["items"].as_array().context("a product page")?;
        for product in items {
            shop.slugs.push(text(product, "slug")?);
            for word in text(product, "name")?.split_whitespace() {
                words.insert(word.to_lowercase());
            }
            for variant in product["variants"].as_array().into_iter().flatten() {
                if currency.is_none() {
                    currency = variant["price"]["currency"].as_str().map(str::to_owned);
                }
                stocked.push((
                    text(variant, "id")?,
                    text(variant, "sku")?,
                    variant["available"].as_i64().unwrap_or(0),
                ));
            }
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    if shop.slugs.is_empty() {
        bail!("the shop at {base} has no published products: run `mercato seed` first");
    }
    let categories: Value = client
        .get(format!("{base}/api/v1/categories"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let category_slugs: Vec<String> = categories["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["slug"].as_str().map(str::to_owned))
        .collect();

    shop.categories = category_slugs.clone();
    let mut rng = fastrand::Rng::with_seed(seed);
    shop.list_queries = (0..200)
        .map(|_| list_query(&mut rng, &category_slugs))
        .collect();
    let words: Vec<String> = words.into_iter().collect();
    shop.searches = (0..200)
        .map(|_| {
            let terms = 1 + rng.usize(..2);
            let q: Vec<&str> = (0..terms)
                .map(|_| words[rng.usize(..words.len())].as_str())
                .collect();
            let sort = if rng.bool() { "&sort=relevance" } else { "" };
            format!("q={}{sort}", q.join("+"))
        })
        .collect();

    // Carts and checkouts buy from a few hundred variants: enough spread to
    // avoid one hot row, few enough to top up.
    rng.shuffle(&mut stocked);
    stocked.truncate(200);
    if let Some((email, password)) = admin {
        let token = login(client, base, email, password).await?;
        for (_, sku, _) in &stocked {
            client
                .post(format!("{base}/api/v1/inventory/{sku}/adjustments"))
                .bearer_auth(&token)
                .json(&json!({"delta": 10_000_000, "reason": "load test stock"}))
                .send()
                .await?
                .error_for_status()
                .with_context(|| format!("topping up {sku}"))?;
        }
        if priced {
            let currency = currency.as_deref().unwrap_or("USD");
            price_checkouts(client, base, &token, currency).await?;
            shop.checkout_code = Some(CHECKOUT_CODE.to_owned());
        }
    } else {
        stocked.retain(|(_, _, available)| *available > 0);
    }
    shop.buyable = stocked.into_iter().map(|(id, _, _)| id).collect();
    Ok(shop)
}

/// A list page as a shopper asks for it: sometimes a category, a price
/// band, in-stock only, another order.
fn list_query(rng: &mut fastrand::Rng, categories: &[String]) -> String {
    let mut q = vec!["limit=20".to_owned()];
    if !categories.is_empty() && rng.u8(..10) < 6 {
        q.push(format!(
            "category={}",
            categories[rng.usize(..categories.len())]
        ));
    }
    match rng.u8(..10) {
        0..=3 => {}
        4 | 5 => q.push("sort=price".into()),
        6 | 7 => q.push("sort=-price".into()),
        _ => q.push("sort=name".into()),
    }
    if rng.u8(..10) < 3 {
        q.push("in_stock=true".into());
    }
    if rng.u8(..10) < 2 {
        let low = 500 + 500 * i64::from(rng.u8(..20));
        q.push(format!("min_price={low}&max_price={}", low + 5000));
    }
    q.join("&")
}

/// What checkouts are priced with, as a shop would have it: a shipping
/// option to the checkout's country, its tax rate (on shipping too) and a
/// 10 % code. Made once; a later run finds them there (409s).
async fn price_checkouts(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    currency: &str,
) -> anyhow::Result<()> {
    let options: Value = client
        .get(format!(
            "{base}/api/v1/shipping-options?country={CHECKOUT_COUNTRY}&currency={currency}"
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut definitions = vec![
        (
            "tax-rates",
            json!({"country": CHECKOUT_COUNTRY, "name": "MwSt", "rate": 1900, "applies_to_shipping": true}),
        ),
        (
            "promotions",
            json!({"code": CHECKOUT_CODE, "name": "Load test", "kind": "percentage", "value": 1000}),
        ),
    ];
    if options["items"].as_array().is_none_or(Vec::is_empty) {
        definitions.push((
            "shipping-options",
            json!({"name": "Standard", "countries": [CHECKOUT_COUNTRY], "currency": currency, "price": 490, "min_days": 2, "max_days": 4}),
        ));
    }
    for (path, body) in definitions {
        let reply = client
            .post(format!("{base}/api/v1/{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        if !(reply.status().is_success() || reply.status() == reqwest::StatusCode::CONFLICT) {
            bail!("creating {path}: {}", reply.status());
        }
    }
    Ok(())
}

async fn login(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let reply: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .error_for_status()
        .context("admin login")?
        .json()
        .await?;
    text(&reply, "access_token")
}

fn text(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("`{key}` missing in {v}"))
}
