//! What a shopper does in one iteration of each scenario.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    recorder::{Recorder, TRANSPORT_ERROR},
    shop::Shop,
};

/// The scenarios; `mix` is 80 % browse, 15 % cart, 5 % checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// The HTTP floor: `GET /health/live` (or `--floor-path`).
    Floor,
    /// One product page.
    Detail,
    /// One list page of 20 with filters.
    List,
    /// One search.
    Search,
    /// 45 % detail, 40 % list, 15 % search.
    Browse,
    /// Open a guest cart, add four lines, change one, read it.
    Cart,
    /// Cart with one line, place the order, pay with the test card, wait
    /// for `paid` (timed from placing to the `paid` entry of the order's history).
    Checkout,
    /// 80 % browse, 15 % cart, 5 % checkout.
    Mix,
    /// The storefront's home page (HTML).
    PageHome,
    /// A storefront category page of 24 products.
    PageCategory,
    /// A storefront product page.
    PageProduct,
    /// The storefront's cart page of a session holding three lines.
    PageCart,
}

/// Route name of the derived timing from `POST /orders` to seeing `paid`.
pub const CHECKOUT_TO_PAID: &str = "=checkout to paid";

/// How often a checking-out shopper looks at the order while waiting for
/// its payment to open (a page waiting to show the payment form)...
const POLL_FOR_PAYMENT: Duration = Duration::from_millis(10);
/// ...and after paying. The time to `paid` is read from the order's
/// history, so this only sets how much polling load the shoppers add.
const POLL_FOR_PAID: Duration = Duration::from_millis(100);

/// One shopper's tools: the client, the shop and a random source of its own.
pub struct Shopper {
    /// One per connection: a request waits for a free one.
    pub turns: Arc<tokio::sync::Semaphore>,
    pub client: reqwest::Client,
    pub base: Arc<str>,
    pub shop: Arc<Shop>,
    pub recorder: Arc<Recorder>,
    pub rng: fastrand::Rng,
    /// The storefront session (`mercato_session=...`) of `page-cart`.
    pub page_session: Option<String>,
}

impl Shopper {
    /// Runs one iteration; `scheduled` is when it should have started (the
    /// open model measures the first request from then, so that a server
    /// falling behind shows as latency, not as fewer requests).
    pub async fn run(&mut self, scenario: Scenario, scheduled: Instant) {
        let scenario = match scenario {
            Scenario::Browse => self.browse_pick(),
            Scenario::Mix => match self.rng.u8(..100) {
                0..80 => self.browse_pick(),
                80..95 => Scenario::Cart,
                _ => Scenario::Checkout,
            },
            other => other,
        };
        match scenario {
            Scenario::Floor => {
                let url = format!("{}{}", self.base, self.shop.floor_path);
                self.get("GET floor", url, scheduled).await;
            }
            Scenario::Detail => {
                let slug = pick(&mut self.rng, &self.shop.slugs);
                let url = format!("{}/api/v1/products/{slug}", self.base);
                self.get("GET /products/{slug}", url, scheduled).await;
            }
            Scenario::List => {
                let q = pick(&mut self.rng, &self.shop.list_queries);
                let url = format!("{}/api/v1/products?{q}", self.base);
                self.get("GET /products?filters", url, scheduled).await;
            }
            Scenario::Search => {
                let q = pick(&mut self.rng, &self.shop.searches);
                let url = format!("{}/api/v1/products?{q}", self.base);
                self.get("GET /products?q=", url, scheduled).await;
            }
            Scenario::Cart => {
                self.cart(scheduled).await;
            }
            Scenario::Checkout => {
                self.checkout(scheduled).await;
            }
            Scenario::PageHome => {
                let url = format!("{}/", self.base);
                self.get("GET / (page)", url, scheduled).await;
            }
            Scenario::PageCategory => {
                let slug = pick(&mut self.rng, &self.shop.categories);
                let url = format!("{}/c/{slug}", self.base);
                self.get("GET /c/{slug} (page)", url, scheduled).await;
            }
            Scenario::PageProduct => {
                let slug = pick(&mut self.rng, &self.shop.slugs);
                let url = format!("{}/p/{slug}", self.base);
                self.get("GET /p/{slug} (page)", url, scheduled).await;
            }
            Scenario::PageCart => {
                if self.page_session.is_none() {
                    self.page_session = self.fill_page_cart().await;
                }
                if let Some(cookie) = &self.page_session {
                    let request = self
                        .client
                        .get(format!("{}/cart", self.base))
                        .header("cookie", cookie.as_str());
                    self.send("GET /cart (page)", request, scheduled).await;
                }
            }
            Scenario::Browse | Scenario::Mix => {}
        }
    }

    /// A storefront session with three lines in its cart, made the way a
    /// browser makes one: a product page for the cookie and the form's
    /// CSRF token, then the add-to-cart form three times (not recorded).
    async fn fill_page_cart(&mut self) -> Option<String> {
        let slug = pick(&mut self.rng, &self.shop.slugs).to_owned();
        let page = self
            .client
            .get(format!("{}/p/{slug}", self.base))
            .send()
            .await
            .ok()?;
        let mut cookie = session_cookie(&page)?;
        let html = page.text().await.ok()?;
        let marker = "name=\"_csrf\" value=\"";
        let at = html.find(marker)? + marker.len();
        let csrf = html[at..].split('"').next()?.to_owned();
        for _ in 0..3 {
            let variant = pick(&mut self.rng, &self.shop.buyable).to_owned();
            let added = self
                .client
                .post(format!("{}/cart/items", self.base))
                .header("cookie", cookie.as_str())
                // As the page's script asks: an answer, not a redirect
                // (whose cookie a client without a jar would lose).
                .header("accept", "application/json")
                .form(&[
                    ("_csrf", csrf.as_str()),
                    ("variant_id", &variant),
                    ("quantity", "1"),
                ])
                .send()
                .await
                .ok()?;
            if !added.status().is_success() {
                return None;
            }
            if let Some(newer) = session_cookie(&added) {
                cookie = newer;
            }
        }
        Some(cookie)
    }

    fn browse_pick(&mut self) -> Scenario {
        match self.rng.u8(..100) {
            0..45 => Scenario::Detail,
            45..85 => Scenario::List,
            _ => Scenario::Search,
        }
    }

    async fn get(&self, route: &'static str, url: String, started: Instant) {
        self.send(route, self.client.get(url), started).await;
    }

    /// Sends a request and parses its JSON answer; `None` on any failure
    /// other than the status (which the caller judges).
    async fn call(
        &self,
        route: &'static str,
        request: reqwest::RequestBuilder,
        started: Instant,
    ) -> Option<(u16, Value)> {
        let (status, body) = self.send(route, request, started).await?;
        Some((
            status,
            serde_json::from_slice(body.as_ref()).unwrap_or(Value::Null),
        ))
    }

    /// Sends a request on a free connection, reads the whole answer (its
    /// body is part of its cost) and records it; `None` without an answer.
    async fn send(
        &self,
        route: &'static str,
        request: reqwest::RequestBuilder,
        started: Instant,
    ) -> Option<(u16, impl AsRef<[u8]>)> {
        let turn = self.turns.acquire().await.ok()?;
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                response.bytes().await.ok().map(|body| (status, body))
            }
            Err(_) => None,
        };
        drop(turn);
        let status = answer.as_ref().map_or(TRANSPORT_ERROR, |(s, _)| *s);
        self.recorder.record(route, started, status);
        answer
    }

    async fn open_cart(&self, started: Instant) -> Option<String> {
        let request = self
            .client
            .post(format!("{}/api/v1/carts", self.base))
            .json(&json!({}));
        let (status, cart) = self.call("POST /carts", request, started).await?;
        if status != 201 {
            return None;
        }
        cart["id"].as_str().map(str::to_owned)
    }

    async fn add(&mut self, cart: &str, quantity: u8) -> Option<Value> {
        let variant = pick(&mut self.rng, &self.shop.buyable).to_owned();
        let request = self
            .client
            .post(format!("{}/api/v1/carts/{cart}/items", self.base))
            .json(&json!({"variant_id": variant, "quantity": quantity}));
        let (status, cart) = self
            .call("POST /carts/{id}/items", request, Instant::now())
            .await?;
        (status == 200).then_some(cart)
    }

    async fn cart(&mut self, started: Instant) -> Option<()> {
        let cart = self.open_cart(started).await?;
        let mut last = Value::Null;
        for _ in 0..4 {
            let quantity = 1 + self.rng.u8(..3);
            last = self.add(&cart, quantity).await?;
        }
        let item = last["items"][0]["id"].as_str()?.to_owned();
        let request = self
            .client
            .patch(format!("{}/api/v1/carts/{cart}/items/{item}", self.base))
            .json(&json!({"quantity": 2}));
        self.call("PATCH /carts/{id}/items/{item}", request, Instant::now())
            .await?;
        let request = self
            .client
            .get(format!("{}/api/v1/carts/{cart}", self.base));
        self.call("GET /carts/{id}", request, Instant::now())
            .await?;
        Some(())
    }

    async fn checkout(&mut self, started: Instant) -> Option<()> {
        let cart = self.open_cart(started).await?;
        self.add(&cart, 1).await?;
        if let Some(code) = self.shop.checkout_code.clone() {
            let request = self
                .client
                .post(format!("{}/api/v1/carts/{cart}/promotions", self.base))
                .json(&json!({"code": code}));
            let (status, _) = self
                .call("POST /carts/{id}/promotions", request, Instant::now())
                .await?;
            if status != 200 {
                return None;
            }
        }
        let placing = Instant::now();
        let placing_at = time::OffsetDateTime::now_utc();
        let request = self
            .client
            .post(format!("{}/api/v1/orders", self.base))
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({
                "cart_id": cart, "email": "shopper@example.com", "payment_provider": "test",
                "shipping_address": {"name": "Load Test", "line1": "1 Bench Street",
                    "city": "Berlin", "postal_code": "10115", "country": crate::shop::CHECKOUT_COUNTRY}
            }));
        let (status, order) = self.call("POST /orders", request, placing).await?;
        if status != 201 {
            return None;
        }
        let order_url = format!("{}/api/v1/orders/{}", self.base, order["id"].as_str()?);
        let mut paid_request = false;
        let deadline = placing + Duration::from_secs(60);
        while Instant::now() < deadline {
            let request = self.client.get(&order_url);
            let (_, now) = self
                .call("GET /orders/{id}", request, Instant::now())
                .await?;
            match now["status"].as_str()? {
                "paid" => {
                    // When the server recorded `paid` (same machine, same clock).
                    let paid_at = now["history"]
                        .as_array()?
                        .iter()
                        .find(|h| h["status"] == "paid")
                        .and_then(|h| h["at"].as_str())
                        .and_then(|at| {
                            time::OffsetDateTime::parse(
                                at,
                                &time::format_description::well_known::Rfc3339,
                            )
                            .ok()
                        })?;
                    let took = Duration::try_from(paid_at - placing_at).unwrap_or_default();
                    self.recorder
                        .record_took(CHECKOUT_TO_PAID, placing, took, 200);
                    return Some(());
                }
                "cancelled" => {
                    self.recorder.record(CHECKOUT_TO_PAID, placing, 409);
                    return None;
                }
                "awaiting_payment" if !paid_request => {
                    if let Some(payment) = now["payment_id"].as_str() {
                        let request = self
                            .client
                            .post(format!("{}/api/v1/payments/{payment}/confirm", self.base))
                            .json(&json!({"card_number": "4242424242424242"}));
                        let (status, _) = self
                            .call("POST /payments/{id}/confirm", request, Instant::now())
                            .await?;
                        if status != 200 {
                            return None;
                        }
                        paid_request = true;
                        tokio::time::sleep(POLL_FOR_PAID).await;
                        continue;
                    }
                    tokio::time::sleep(POLL_FOR_PAYMENT).await;
                }
                _ if paid_request => tokio::time::sleep(POLL_FOR_PAID).await,
                _ => tokio::time::sleep(POLL_FOR_PAYMENT).await,
            }
        }
        self.recorder.record(CHECKOUT_TO_PAID, placing, 504);
        None
    }
}

/// `mercato_session=...` from a response's `Set-Cookie`.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mercato_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

fn pick<'a>(rng: &mut fastrand::Rng, items: &'a [String]) -> &'a str {
    items
        .get(rng.usize(..items.len().max(1)))
        .map_or("", String::as_str)
}
