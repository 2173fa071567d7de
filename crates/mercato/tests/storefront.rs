//! The storefront, used as a person uses it: real Chromium (headless,
//! over WebDriver) on the all-in-one server with the demo catalog. A guest
//! browses, filters, searches, adds two variants, changes a quantity,
//! checks out and pays with the test card; a declined card shows the
//! failure and the items come back; a customer registers, verifies the
//! email from the mailed link, keeps an address, logs in with a guest
//! cart, checks out from the address book, finds the order in the history
//! and resets the password from the mail; the same purchase works with
//! JavaScript turned off. axe-core checks every page for serious and
//! critical violations. The cookie, CSRF and routing rules are checked
//! over plain HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Backend, TestApp, browser::Browser, on_both_backends};

/// Demo products the tests shop from.
const DEMO_PRODUCTS: usize = 60;

async fn shop(backend: Backend) -> TestApp {
    testkit::spawn_with(backend, |cfg| {
        cfg.catalog.demo_products = DEMO_PRODUCTS;
    })
    .await
}

/// A demo product with two variants in stock, and its department.
struct Pick {
    slug: String,
    name: String,
    /// (id, title, price) of the first two variants in stock.
    variants: Vec<(String, String, i64)>,
    department: String,
}

async fn pick_product(app: &TestApp) -> Pick {
    let categories = app.get("/api/v1/categories", None).await;
    let categories = categories.body["items"].as_array().unwrap().clone();
    let page = app
        .get("/api/v1/products?limit=100&in_stock=true", None)
        .await;
    for p in page.body["items"].as_array().unwrap() {
        let variants: Vec<(String, String, i64)> = p["variants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["available"].as_i64().unwrap() >= 5)
            .map(|v| {
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["title"].as_str().unwrap().to_owned(),
                    v["price"]["amount"].as_i64().unwrap(),
                )
            })
            .take(2)
            .collect();
        if variants.len() < 2 {
            continue;
        }
        let leaf = p["category_ids"][0].as_str().unwrap();
        let parent = categories
            .iter()
            .find(|c| c["id"] == leaf)
            .and_then(|c| c["parent_id"].as_str())
            .unwrap();
        let department = categories.iter().find(|c| c["id"] == parent).unwrap();
        return Pick {
            slug: p["slug"].as_str().unwrap().to_owned(),
            name: p["name"].as_str().unwrap().to_owned(),
            variants,
            department: department["slug"].as_str().unwrap().to_owned(),
        };
    }
    panic!("no demo product has two variants in stock");
}

/// `$1,234.56`, as the pages show US dollars.
fn usd(amount: i64) -> String {
    let whole = (amount / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("${grouped}.{:02}", amount % 100)
}

fn parse_usd(text: &str) -> i64 {
    let digits: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let (whole, cents) = digits.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
}

/// The order id of a `/orders/{id}...` path.
fn order_id(path: &str) -> String {
    path.trim_start_matches("/orders/")
        .split(['/', '?'])
        .next()
        .unwrap()
        .to_owned()
}

/// Fills the checkout's address (and email for a guest).
async fn fill_address(browser: &Browser, email: Option<&str>) {
    if let Some(email) = email {
        browser.fill("#f-email", email).await;
    }
    browser.fill("#f-name", "Grace Hopper").await;
    browser.fill("#f-line1", "1 Harbour Street").await;
    browser.fill("#f-city", "Arlington").await;
    browser.fill("#f-postal_code", "22201").await;
    browser.fill("#f-country", "US").await;
}

/// As a guest: the pick's first variant into the cart (the badge shows
/// it), then the checkout form filled for `email`, not yet placed.
async fn to_checkout_with_one(browser: &Browser, pick: &Pick, email: &str) {
    browser.goto(&format!("/p/{}", pick.slug)).await;
    browser.click(&format!("#v-{}", pick.variants[0].0)).await;
    browser.click("form.add-to-cart button[type=submit]").await;
    wait_for_badge(browser, "1").await;
    browser.goto("/checkout").await;
    fill_address(browser, Some(email)).await;
}

/// Pays on the payment page with `card` (waiting for the payment to open).
async fn pay_with(browser: &Browser, card: &str) {
    browser.fill("#f-card_number", card).await;
    browser.click("form.pay button[type=submit]").await;
}

async fn a_guest_buys_two_variants_and_pays(backend: Backend) {
    let app = shop(backend).await;
    let pick = pick_product(&app).await;
    let browser = Browser::start(&app.base, true).await;

    // Home: departments and new products, with pictures that load.
    browser.goto("/").await;
    assert!(browser.client.title().await.unwrap().contains("Mercato"));
    assert!(!browser.all(".card").await.is_empty(), "featured products");
    browser.assert_accessible("home").await;
    browser.screenshot("home-desktop").await;

    // A department, filtered to what is in stock, cheapest first.
    browser
        .click(&format!("nav.departments a[href='/c/{}']", pick.department))
        .await;
    browser.find("form.filters").await;
    browser.click("#f-in-stock").await;
    browser
        .find("#f-sort")
        .await
        .select_by_value("price")
        .await
        .unwrap();
    browser.click_text("Apply").await;
    browser.find(".grid .card").await;
    let path = browser.path().await;
    assert!(
        path.starts_with(&format!("/c/{}?", pick.department)),
        "{path}"
    );
    assert!(
        path.contains("sort=price") && path.contains("in_stock=true"),
        "{path}"
    );
    let mut prices = Vec::new();
    for price in browser.all(".card .price").await {
        prices.push(parse_usd(&price.text().await.unwrap()));
    }
    assert!(!prices.is_empty());
    assert!(
        prices.windows(2).all(|w| w[0] <= w[1]),
        "cheapest first: {prices:?}"
    );
    assert!(browser.all(".stock.out").await.is_empty(), "in stock only");
    browser.assert_accessible("category").await;
    browser.screenshot("category-desktop").await;

    // A price the filter cannot read is named next to its field.
    browser.fill("#f-min_price", "cheap").await;
    browser.click_text("Apply").await;
    browser
        .wait_for_text("Enter an amount such as 25 or 19.99.")
        .await;
    assert_eq!(
        browser
            .find("#f-min_price")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );

    // Search from the header finds the product by name.
    browser.fill("#site-search", &pick.name).await;
    browser.click("form.search button").await;
    let link = format!(".grid a[href='/p/{}']", pick.slug);
    browser.find(&link).await;
    assert!(browser.path().await.starts_with("/search?q="));
    browser.assert_accessible("search").await;
    browser.click(&link).await;

    // The product page: picture, variant picker, add without a reload.
    browser.find("article.product").await;
    assert_eq!(browser.text("h1").await, pick.name);
    let loaded = browser
        .client
        .execute(
            "const img = document.querySelector('.gallery img'); return img.complete && img.naturalWidth > 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, Value::Bool(true), "the demo picture renders");
    browser.assert_accessible("product").await;
    browser.screenshot("product-desktop").await;
    let (first, second) = (&pick.variants[0], &pick.variants[1]);
    browser.click(&format!("#v-{}", first.0)).await;
    assert_eq!(browser.text("[data-price]").await, usd(first.2));
    browser.click("form.add-to-cart button[type=submit]").await;
    browser.wait_for_text("Added to your cart.").await;
    wait_for_badge(&browser, "1").await;
    assert!(
        browser.path().await.starts_with("/p/"),
        "stayed on the page"
    );
    browser.click(&format!("#v-{}", second.0)).await;
    browser.click("form.add-to-cart button[type=submit]").await;
    wait_for_badge(&browser, "2").await;

    // The cart: two lines; the first goes up to two.
    browser.click("a.cart-link").await;
    browser.find("table.lines").await;
    assert_eq!(browser.all("table.lines tbody tr").await.len(), 2);
    browser
        .fill(
            "table.lines tbody tr:nth-child(1) input[name=quantity]",
            "2",
        )
        .await;
    browser
        .click("table.lines tbody tr:nth-child(1) form.qty button")
        .await;
    browser.wait_for_text("Your cart is updated.").await;
    let expected = 2 * first.2 + second.2;
    assert_eq!(browser.text("[data-cart-total]").await, usd(expected));
    wait_for_badge(&browser, "3").await;
    browser.assert_accessible("cart").await;
    browser.screenshot("cart-desktop").await;

    // Checkout: a blank form comes back with the API's messages.
    browser.click_text("Check out").await;
    browser.find("form.checkout-form").await;
    browser.assert_accessible("checkout").await;
    browser.click_text("Place order").await;
    browser.find(".form-error").await;
    assert!(
        !browser.all(".field.invalid p.error").await.is_empty(),
        "field messages next to the fields"
    );
    fill_address(&browser, Some("grace@example.com")).await;
    browser.screenshot("checkout-desktop").await;
    browser.click_text("Place order").await;

    // Payment with the test card, then the order follows itself to paid.
    browser.find("#f-card_number").await;
    let path = browser.path().await;
    assert!(path.ends_with("/pay"), "{path}");
    let id = order_id(&path);
    browser.assert_accessible("payment").await;
    pay_with(&browser, "4242 4242 4242 4242").await;
    browser.wait_for_text("Thank you for your order").await;
    browser.wait_for_text("Paid, being prepared").await;
    browser.assert_accessible("order").await;
    browser.screenshot("order-desktop").await;

    let order = app.get(&format!("/api/v1/orders/{id}"), None).await;
    order.expect(200);
    assert_eq!(order.body["status"], "paid");
    assert_eq!(order.body["email"], "grace@example.com");
    assert_eq!(order.body["subtotal"]["amount"], expected);
    assert_eq!(order.body["items"].as_array().unwrap().len(), 2);

    // Phone width: the same pages, stacked.
    browser.resize(390, 844).await;
    for (path, name) in [
        ("/".to_owned(), "home-phone"),
        (format!("/p/{}", pick.slug), "product-phone"),
        (format!("/orders/{id}"), "order-phone"),
    ] {
        browser.goto(&path).await;
        browser.find("main").await;
        browser.assert_accessible(name).await;
        browser.screenshot(name).await;
    }
    browser.close().await;
}

async fn wait_for_badge(browser: &Browser, count: &str) {
    let deadline = Instant::now() + testkit::browser::PAGE_WAIT;
    loop {
        let shown = browser.text("[data-cart-count]").await;
        if shown == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "cart badge shows {shown}, not {count}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

on_both_backends!(a_guest_buys_two_variants_and_pays);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_is_shown_and_the_items_come_back() {
    let app = shop(Backend::Sqlite).await;
    let pick = pick_product(&app).await;
    let browser = Browser::start(&app.base, true).await;
    to_checkout_with_one(&browser, &pick, "declined@example.com").await;
    browser.click_text("Place order").await;
    browser.find("#f-card_number").await;
    let id = order_id(&browser.path().await);
    pay_with(&browser, "4000000000000002").await;
    browser.wait_for_text("Your card was declined.").await;
    browser.assert_accessible("declined payment").await;
    let payments = app
        .get(&format!("/api/v1/payments?order_id={id}"), None)
        .await;
    assert_eq!(payments.body["items"][0]["failure_code"], "card_declined");

    browser
        .click_text("Put the items back in my cart and try again")
        .await;
    browser.find("form.checkout-form").await;
    assert_eq!(browser.path().await, "/checkout");
    assert!(browser.text("aside.summary").await.contains(&pick.name));
    wait_for_badge(&browser, "1").await;
    browser.close().await;
}

/// The verification or reset link in the newest mail to `email` that has
/// one, as a path of the shop.
async fn mailed_link(app: &TestApp, email: &str, path: &str) -> String {
    let outbox = app.config.database.data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    let pattern = regex::Regex::new(&format!(
        r"{}\?token=([A-Za-z0-9_\-]+)",
        regex::escape(path)
    ))
    .unwrap();
    loop {
        let mut found = None;
        if let Ok(entries) = std::fs::read_dir(&outbox) {
            let mut mails: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            mails.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
            for mail in mails
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            {
                let raw = std::fs::read_to_string(mail).unwrap_or_default();
                // Quoted-printable soft breaks and `=` signs.
                let text = raw
                    .replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=");
                if text.contains(email)
                    && let Some(token) = pattern.captures(&text).map(|c| c[1].to_owned())
                {
                    found = Some(format!("{path}?token={token}"));
                }
            }
        }
        if let Some(link) = found {
            return link;
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {email} with {path} in {}",
            outbox.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_registers_verifies_keeps_an_address_and_buys_from_the_address_book() {
    let app = shop(Backend::Sqlite).await;
    let pick = pick_product(&app).await;
    let browser = Browser::start(&app.base, true).await;
    let email = format!(
        "ada-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );

    // Register.
    browser.goto("/account/register").await;
    browser.assert_accessible("register").await;
    browser.fill("#f-name", "Ada").await;
    browser.fill("#f-email", &email).await;
    browser.fill("#f-password", "password").await;
    browser.click_text("Create account").await;
    browser.find(".form-error").await;
    assert!(
        !browser.all(".field.invalid").await.is_empty(),
        "a common password is refused at its field"
    );
    browser.fill("#f-password", testkit::GOOD_PASSWORD).await;
    browser.click_text("Create account").await;
    browser.wait_for_text("Welcome, Ada.").await;
    assert_eq!(browser.path().await, "/account");
    browser.wait_for_text("not verified").await;
    browser.assert_accessible("account").await;

    // Verify from the mailed link.
    let link = mailed_link(&app, &email, "/verify-email").await;
    browser.goto(&link).await;
    browser.assert_accessible("verify").await;
    browser.click_text("Confirm my email address").await;
    browser
        .wait_for_text("Your email address is verified.")
        .await;
    browser.goto("/account").await;
    assert_eq!(browser.text(".tag").await, "verified");

    // The address book.
    browser.goto("/account/addresses").await;
    browser.fill("#f-name", "Ada Lovelace").await;
    browser.fill("#f-line1", "12 St James's Square").await;
    browser.fill("#f-city", "London").await;
    browser.fill("#f-postal_code", "SW1Y 4JH").await;
    browser.fill("#f-country", "GB").await;
    browser.click_text("Save the address").await;
    browser.wait_for_text("Address saved.").await;
    assert!(
        browser
            .text("ul.addresses")
            .await
            .contains("12 St James's Square")
    );
    browser.assert_accessible("address book").await;
    browser.click("header form.inline button").await;
    browser.wait_for_text("You are logged out.").await;

    // A guest cart, claimed at login.
    browser.goto(&format!("/p/{}", pick.slug)).await;
    browser.click(&format!("#v-{}", pick.variants[1].0)).await;
    browser.click("form.add-to-cart button[type=submit]").await;
    wait_for_badge(&browser, "1").await;
    browser.goto("/account/login?next=/cart").await;
    browser.assert_accessible("login").await;
    browser.fill("#f-email", &email).await;
    browser.fill("#f-password", "not-the-password").await;
    browser.click_text("Log in").await;
    browser
        .wait_for_text("That email and password do not match an account.")
        .await;
    browser.fill("#f-email", &email).await;
    browser.fill("#f-password", testkit::GOOD_PASSWORD).await;
    browser.click_text("Log in").await;
    browser.wait_for_text("Welcome, Ada.").await;
    assert_eq!(browser.path().await, "/cart");
    assert!(browser.text("table.lines").await.contains(&pick.name));
    wait_for_badge(&browser, "1").await;

    // Checkout from the address book: the saved address is chosen.
    browser.click_text("Check out").await;
    browser.find("form.checkout-form").await;
    assert!(
        browser
            .page_text()
            .await
            .contains(&format!("Receipt to {email}"))
    );
    let saved = browser.find("input[name=address_id]:checked").await;
    assert_ne!(saved.attr("value").await.unwrap().as_deref(), Some("new"));
    browser.click_text("Place order").await;
    browser.find("#f-card_number").await;
    let id = order_id(&browser.path().await);
    pay_with(&browser, "4242424242424242").await;
    browser.wait_for_text("Paid, being prepared").await;
    let order = app.get(&format!("/api/v1/orders/{id}"), None).await;
    // A customer's order is not readable without the customer's token.
    order.expect(404);

    // The order history.
    browser.goto("/account/orders").await;
    let number = browser.text("table.lines tbody tr:nth-child(1) a").await;
    assert!(!number.is_empty());
    browser.assert_accessible("order history").await;
    browser.click("table.lines tbody tr:nth-child(1) a").await;
    browser.wait_for_text(&format!("Order {number}")).await;
    browser.wait_for_text("London").await;

    // Preferences.
    browser.goto("/account/preferences").await;
    browser.click("#f-sms").await;
    browser.click_text("Save").await;
    browser.wait_for_text("Your preferences are saved.").await;
    assert!(browser.find("#f-sms").await.is_selected().await.unwrap());
    browser.assert_accessible("preferences").await;

    // A new password from the mailed reset link.
    browser.click("header form.inline button").await;
    browser.wait_for_text("You are logged out.").await;
    browser.goto("/account/password-reset").await;
    browser.fill("#f-email", &email).await;
    browser.click_text("Send the link").await;
    browser
        .wait_for_text("a link to choose a new password is on its way")
        .await;
    let link = mailed_link(&app, &email, "/reset-password").await;
    browser.goto(&link).await;
    browser.assert_accessible("new password").await;
    browser
        .fill("#f-new_password", "another-Lunar-trumpet-77")
        .await;
    browser.click_text("Save the password").await;
    browser.wait_for_text("Your password is changed.").await;
    browser.fill("#f-email", &email).await;
    browser
        .fill("#f-password", "another-Lunar-trumpet-77")
        .await;
    browser.click_text("Log in").await;
    browser.wait_for_text("Hi, Ada").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_works_without_javascript() {
    let app = shop(Backend::Sqlite).await;
    let pick = pick_product(&app).await;
    let browser = Browser::start(&app.base, false).await;
    browser.goto(&format!("/p/{}", pick.slug)).await;
    browser.click(&format!("#v-{}", pick.variants[0].0)).await;
    browser.fill("#f-quantity", "2").await;
    browser.click("form.add-to-cart button[type=submit]").await;
    // The form posted and the server redirected to the cart.
    browser.wait_for_text("Added to your cart.").await;
    assert_eq!(browser.path().await, "/cart");
    assert_eq!(browser.text("[data-cart-count]").await, "2");
    browser.click_text("Check out").await;
    fill_address(&browser, Some("nojs@example.com")).await;
    browser.click_text("Place order").await;
    // The payment page refreshes itself until the payment is open.
    browser.find("#f-card_number").await;
    let id = order_id(&browser.path().await);
    pay_with(&browser, "4242 4242 4242 4242").await;
    // The order page refreshes itself until the order is paid.
    browser.wait_for_text("Paid, being prepared").await;
    let order = app.get(&format!("/api/v1/orders/{id}"), None).await;
    assert_eq!(order.body["status"], "paid");
    assert_eq!(order.body["items"][0]["quantity"], 2);

    browser.goto("/no-such-page").await;
    browser.wait_for_text("We could not find that page").await;
    browser.close().await;
}

on_both_backends!(a_code_a_shipping_option_and_tax_are_priced_in_the_shop);

/// Standard and Express shipping to the US, 10 % tax on goods and shipping,
/// and a 10 % code: the cart shows the code's discount (and why another
/// cannot apply), the checkout lists the options for the address, and the
/// order page and its payment carry every total.
async fn a_code_a_shipping_option_and_tax_are_priced_in_the_shop(backend: Backend) {
    let app = shop(backend).await;
    let admin = app.admin_token().await;
    let mut options = Vec::new();
    for (name, price) in [("Standard", 500), ("Express", 1500)] {
        let created = app
            .post(
                "/api/v1/shipping-options",
                Some(&admin),
                &serde_json::json!({"name": name, "countries": ["US"], "currency": "USD", "price": price, "min_days": 1, "max_days": 3}),
            )
            .await;
        created.expect(201);
        options.push(created.body["id"].as_str().unwrap().to_owned());
    }
    app.post(
        "/api/v1/tax-rates",
        Some(&admin),
        &serde_json::json!({"country": "US", "name": "Sales tax", "rate": 1000, "applies_to_shipping": true}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/promotions",
        Some(&admin),
        &serde_json::json!({"code": "SAVE10", "name": "Ten percent", "kind": "percentage", "value": 1000}),
    )
    .await
    .expect(201);
    let pick = pick_product(&app).await;
    let browser = Browser::start(&app.base, true).await;
    browser.goto(&format!("/p/{}", pick.slug)).await;
    browser.click(&format!("#v-{}", pick.variants[0].0)).await;
    browser.fill("#f-quantity", "2").await;
    browser.click("form.add-to-cart button[type=submit]").await;
    wait_for_badge(&browser, "2").await;
    browser.goto("/cart").await;
    browser.fill("#promo-code", "nope").await;
    browser.click_text("Apply").await;
    browser
        .wait_for_text("NOPE is not a code of this shop.")
        .await;
    browser.fill("#promo-code", "save10").await;
    browser.click_text("Apply").await;
    browser.wait_for_text("The code is applied.").await;
    let subtotal = 2 * pick.variants[0].2;
    let discount = (subtotal * 1000 + 5000) / 10_000;
    browser.wait_for_text("Discount (SAVE10)").await;
    assert_eq!(
        parse_usd(&browser.text("[data-cart-total]").await),
        subtotal - discount
    );
    browser.assert_accessible("cart with a code").await;

    browser.click_text("Check out").await;
    fill_address(&browser, Some("priced@example.com")).await;
    browser
        .click_text("Show shipping options for this address")
        .await;
    browser.wait_for_text("Express — $15.00").await;
    browser.wait_for_text("Standard — $5.00").await;
    browser
        .assert_accessible("checkout with shipping options")
        .await;
    assert_eq!(browser.all("input[name=shipping_option_id]").await.len(), 2);
    // Cheapest first and chosen by default; the customer takes Express.
    browser
        .click(&format!("label[for='ship-{}']", options[1]))
        .await;
    browser.click_text("Place order").await;
    browser.find("#f-card_number").await;
    let id = order_id(&browser.path().await);
    let goods_tax = ((subtotal - discount) * 1000 + 5000) / 10_000;
    let total = subtotal - discount + 1500 + goods_tax + 150;
    let order = app.get(&format!("/api/v1/orders/{id}"), None).await;
    assert_eq!(order.body["shipping_option"]["name"], "Express");
    assert_eq!(order.body["discount_total"]["amount"], discount);
    assert_eq!(order.body["tax_total"]["amount"], goods_tax + 150);
    assert_eq!(order.body["total"]["amount"], total);
    pay_with(&browser, "4242424242424242").await;
    browser.wait_for_text("Paid, being prepared").await;
    for shown in [
        "Discount".to_owned(),
        "Shipping (Express)".to_owned(),
        "Tax".to_owned(),
        usd(total),
    ] {
        browser.wait_for_text(&shown).await;
    }
    let payment = testkit::shop::payment_of(&app, &id, None).await;
    assert_eq!(payment["amount"]["amount"], total);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_404_page_is_accessible() {
    let app = shop(Backend::Sqlite).await;
    let browser = Browser::start(&app.base, true).await;
    browser.goto("/p/no-such-product").await;
    browser.wait_for_text("We could not find that page").await;
    browser.assert_accessible("404").await;
    browser.close().await;
}

/// The session cookie's attributes, from a response.
fn session_cookie(reply: &reqwest::Response) -> String {
    reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mercato_session="))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_forms_and_paths_follow_the_rules() {
    let app = shop(Backend::Sqlite).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The cookie: HttpOnly, SameSite=Lax, Secure behind TLS, unreadable.
    let home = client.get(&app.base).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let cookie = session_cookie(&home);
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");
    let html = home.text().await.unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let pick = pick_product(&app).await;
    let product_page = client
        .get(format!("{}/p/{}", app.base, pick.slug))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"_csrf\" value=\"";
    let csrf_at = product_page.find(marker).unwrap() + marker.len();
    let csrf = &product_page[csrf_at..csrf_at + product_page[csrf_at..].find('"').unwrap()];
    assert!(
        !cookie.contains(csrf),
        "the CSRF secret is not readable in the cookie"
    );
    let tls = client
        .get(&app.base)
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(session_cookie(&tls).contains("; Secure"));

    // Every form needs the session's CSRF token.
    for body in [
        format!("variant_id={}&quantity=1", pick.variants[0].0),
        format!("variant_id={}&quantity=1&_csrf=forged", pick.variants[0].0),
    ] {
        let refused = client
            .post(format!("{}/cart/items", app.base))
            .header("cookie", &pair)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("This form has expired")
        );
    }
    let added = client
        .post(format!("{}/cart/items", app.base))
        .header("cookie", &pair)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "variant_id={}&quantity=1&_csrf={csrf}",
            pick.variants[0].0
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 303);
    assert_eq!(added.headers()["location"], "/cart");

    // The API's paths answer as the API: problem+json, no cookie.
    for path in ["/api/v1/no-such-thing", "/health/nope", "/_edge/nope"] {
        let reply = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 404, "{path}");
        assert_eq!(
            reply.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert!(session_cookie(&reply).is_empty(), "{path}");
    }
    let docs = client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let page = client
        .get(format!("{}/no-such-page", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // Static files: cached for a year under a content-named path, no cookie.
    let css_at = html.find("/static/").unwrap();
    let css = &html[css_at..css_at + html[css_at..].find('"').unwrap()];
    let sheet = client
        .get(format!("{}{css}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sheet.status(), 200);
    assert_eq!(sheet.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        sheet.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(session_cookie(&sheet).is_empty());
    let product = app
        .get(&format!("/api/v1/products/{}", pick.slug), None)
        .await;
    let image = product.body["images"][0].as_str().unwrap();
    assert!(image.starts_with("/media/demo/"), "{image}");
    let picture = client
        .get(format!("{}{image}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(picture.status(), 200);
    assert_eq!(picture.headers()["content-type"], "image/svg+xml");
    assert!(picture.text().await.unwrap().contains(&pick.name));
}

async fn the_demo_customer_is_created_and_can_log_in(backend: Backend) {
    let app = testkit::spawn_with(backend, |cfg| {
        cfg.users.demo_customer_email = Some("demo@example.com".into());
        cfg.users.demo_customer_password = Some(testkit::GOOD_PASSWORD.to_owned().into());
    })
    .await;
    let login = app.login("demo@example.com", testkit::GOOD_PASSWORD).await;
    login.expect(200);
    let token = login.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/users/me", Some(token)).await;
    assert_eq!(me.body["role"], "customer");
    assert_eq!(me.body["email_verified"], true);
}

on_both_backends!(the_demo_customer_is_created_and_can_log_in);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paypal_checkout_goes_to_paypal_and_is_captured_on_return() {
    use testkit::fakes::paypal::{FakePaypal, WEBHOOK_ID};
    let paypal = FakePaypal::start("AaStorefront", "EStorefront", 3600).await;
    let paypal_base = paypal.base.clone();
    let app = testkit::spawn_with(Backend::Sqlite, move |cfg| {
        cfg.catalog.demo_products = DEMO_PRODUCTS;
        cfg.payments.paypal_base_url = paypal_base;
        cfg.payments.paypal_client_id = Some("AaStorefront".into());
        cfg.payments.paypal_client_secret = Some("EStorefront".to_owned().into());
        cfg.payments.paypal_webhook_id = Some(WEBHOOK_ID.into());
        cfg.orders.payment_providers = vec!["test".into(), "paypal".into()];
    })
    .await;
    let pick = pick_product(&app).await;
    let browser = Browser::start(&app.base, true).await;
    to_checkout_with_one(&browser, &pick, "paypal@example.com").await;
    browser.click("#pay-paypal").await;
    browser.click_text("Place order").await;

    // The payment page sends the buyer to PayPal's approval page.
    let link = browser.find("a.button.primary[href*='paypal.com']").await;
    assert_eq!(link.text().await.unwrap(), "Continue to PayPal");
    let approval = link.attr("href").await.unwrap().unwrap();
    let id = order_id(&browser.path().await);
    let payments = app
        .get(&format!("/api/v1/payments?order_id={id}"), None)
        .await;
    let payment = &payments.body["items"][0];
    assert_eq!(payment["approval_url"], approval.as_str());
    browser.assert_accessible("paypal payment").await;

    // The buyer approves at PayPal, which sends them back to the shop's
    // return URL; the storefront captures and shows the order paid.
    let reference = approval.split("token=").nth(1).unwrap();
    paypal.approve(reference, false).await;
    browser
        .goto(&format!(
            "/checkout/paypal/return?payment={}",
            payment["id"].as_str().unwrap()
        ))
        .await;
    browser.wait_for_text("Thank you for your order").await;
    browser.wait_for_text("Paid, being prepared").await;
    assert_eq!(paypal.captures(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_payment_page_loads_stripe_js_with_the_intent_and_follows_the_order() {
    use testkit::stripe::{LocalStripe, SECRET_KEY};
    const WEBHOOK_SECRET: &str = "whsec_storefront";
    let stripe = LocalStripe::start().await;
    let stripe_base = stripe.base();
    let app = testkit::spawn_with(Backend::Sqlite, move |cfg| {
        cfg.catalog.demo_products = DEMO_PRODUCTS;
        cfg.payments.stripe_base_url = stripe_base.clone();
        cfg.payments.stripe_secret_key = Some(SECRET_KEY.to_owned().into());
        cfg.payments.stripe_webhook_secret = Some(WEBHOOK_SECRET.to_owned().into());
        cfg.orders.payment_providers = vec!["stripe".into()];
        cfg.web.stripe_publishable_key = "pk_test_storefront".into();
        // localstripe serves its stand-in of Stripe.js here.
        cfg.web.stripe_js_url = format!("{stripe_base}/js.stripe.com/v3/");
    })
    .await;
    stripe
        .register_webhook(
            &format!("{}/api/v1/webhooks/stripe", app.base),
            WEBHOOK_SECRET,
        )
        .await;
    let pick = pick_product(&app).await;
    let browser = Browser::start(&app.base, true).await;
    to_checkout_with_one(&browser, &pick, "stripe@example.com").await;
    browser.click_text("Place order").await;

    // The page carries the intent's client_secret and the publishable key,
    // and Stripe.js (allowed by the page's policy) mounts its card field.
    let form = browser.find("#stripe-form").await;
    let id = order_id(&browser.path().await);
    let payments = app
        .get(&format!("/api/v1/payments?order_id={id}"), None)
        .await;
    let secret = payments.body["items"][0]["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        form.attr("data-client-secret").await.unwrap().as_deref(),
        Some(secret.as_str())
    );
    assert_eq!(
        form.attr("data-stripe-key").await.unwrap().as_deref(),
        Some("pk_test_storefront")
    );
    browser.find("#stripe-card input").await;
    let loaded = browser
        .client
        .execute("return typeof window.Stripe;", vec![])
        .await
        .unwrap();
    assert_eq!(loaded, Value::String("function".into()));

    // Stripe confirms the intent with the card (what Stripe.js does on
    // stripe.com); its signed webhook pays the order, and the order page
    // the shopper lands on follows it there.
    let intent = secret.split("_secret_").next().unwrap();
    let (status, confirmed) = stripe.pay(intent, "4242424242424242").await;
    assert_eq!(status, 200, "{confirmed}");
    browser.goto(&format!("/orders/{id}?placed=1")).await;
    browser.wait_for_text("Paid, being prepared").await;
    browser.close().await;
}
