//! The admin dashboard, used as an operator uses it: real Chromium on the
//! all-in-one server. An admin signs in, creates a category and a product
//! with two variants, publishes it, adjusts its stock; a customer buys it
//! in the storefront (a second browser); the admin finds the order, ships
//! it with tracking, marks it delivered and refunds part of it (a
//! resubmitted refund form refunds once); the customer's order page and
//! mails follow. A customer cannot open the dashboard, a form without its
//! CSRF token is refused, an idle session ends. axe-core checks every page.
//! The journey runs with JavaScript on SQLite and without it on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestApp, browser::Browser};

async fn shop(backend: Backend) -> TestApp {
    testkit::spawn_with(backend, |cfg| {
        cfg.catalog.demo_products = 12;
    })
    .await
}

/// Signs in at the dashboard (the first page asked for is the overview).
async fn sign_in(browser: &Browser) {
    browser.goto("/admin").await;
    browser.find("#f-email").await;
    assert!(
        browser.path().await.starts_with("/admin/login?next="),
        "an anonymous visit is sent to sign in"
    );
    browser.fill("#f-email", ADMIN_EMAIL).await;
    browser.fill("#f-password", ADMIN_PASSWORD).await;
    browser.click_text("Sign in").await;
    browser.wait_for_text("Checkout health").await;
    assert_eq!(browser.path().await, "/admin");
}

/// The value of the session cookie the browser holds.
async fn session_cookie(browser: &Browser) -> String {
    let cookie = browser
        .client
        .get_named_cookie("mercato_session")
        .await
        .expect("the browser has a session");
    format!("mercato_session={}", cookie.value())
}

async fn value(browser: &Browser, css: &str) -> String {
    browser
        .find(css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The newest `.eml` in the outbox to `email` that contains `needle`.
async fn wait_for_mail(app: &TestApp, email: &str, needle: &str) {
    let outbox = app.config.database.data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = std::fs::read_dir(&outbox).ok().is_some_and(|entries| {
            entries.flatten().any(|e| {
                let raw = std::fs::read_to_string(e.path()).unwrap_or_default();
                let text = raw.replace("=\r\n", "").replace("=\n", "");
                text.contains(email) && text.contains(needle)
            })
        });
        if found {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {email} containing {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reloads the page until it shows `needle` (what it lists changes
/// behind it, as mails are queued).
async fn wait_for_text_reloading(browser: &Browser, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let path = browser.path().await;
    loop {
        if browser.page_text().await.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} never appeared on {path}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.goto(&path).await;
    }
}

/// axe-core runs as a script of the page: only with JavaScript on (the
/// pages without it are the same markup).
async fn accessible(browser: &Browser, javascript: bool, page: &str) {
    if javascript {
        browser.assert_accessible(page).await;
    }
}

async fn the_admin_runs_the_shop_from_the_dashboard(backend: Backend) {
    let javascript = backend == Backend::Sqlite;
    let app = shop(backend).await;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let admin = Browser::start(&app.base, javascript).await;

    // Sign in: a wrong password is refused at the form, then the overview.
    admin.goto("/admin/login").await;
    accessible(&admin, javascript, "admin sign-in").await;
    admin.fill("#f-email", ADMIN_EMAIL).await;
    admin.fill("#f-password", "not-the-password").await;
    admin.click_text("Sign in").await;
    admin
        .wait_for_text("That email and password do not match an account.")
        .await;
    sign_in(&admin).await;
    accessible(&admin, javascript, "admin overview").await;

    // A category.
    let category = format!("Trail gear {tag}");
    admin
        .click("nav.departments a[href='/admin/categories']")
        .await;
    admin.fill("#f-name", &category).await;
    admin.click_text("Create category").await;
    admin
        .wait_for_text(&format!("Created the category “{category}”."))
        .await;
    accessible(&admin, javascript, "admin categories").await;
    let categories = app.get("/api/v1/categories", None).await;
    let created = categories.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == category.as_str())
        .expect("the category exists")
        .clone();
    assert_eq!(created["slug"], format!("trail-gear-{tag}"));
    let category_id = created["id"].as_str().unwrap().to_owned();

    // A product with two variants, as a draft first: a price the form
    // cannot read is named at its field, the rest is kept.
    let (sku_s, sku_l) = (format!("TRAIL-{tag}-S"), format!("TRAIL-{tag}-L"));
    let name = format!("Ridge Runner {tag}");
    admin.goto("/admin/products/new").await;
    accessible(&admin, javascript, "admin new product").await;
    admin.fill("#f-name", &name).await;
    admin
        .fill("#f-description", "A light trail shoe for long days.")
        .await;
    admin.click(&format!("#cat-{category_id}")).await;
    admin.fill("#f-attributes", "Material: Mesh").await;
    for (i, (sku, title, size, price, stock)) in [
        (&sku_s, "Small", "S", "24,50", "5"),
        (&sku_l, "Large", "L", "26.00", "3"),
    ]
    .into_iter()
    .enumerate()
    {
        admin.fill(&format!("#f-variant-{i}-sku"), sku).await;
        admin.fill(&format!("#f-variant-{i}-title"), title).await;
        admin
            .fill(&format!("#f-variant-{i}-options"), &format!("Size={size}"))
            .await;
        admin.fill(&format!("#f-variant-{i}-price"), price).await;
        admin.fill(&format!("#f-variant-{i}-stock"), stock).await;
    }
    admin.click_text("Create product").await;
    admin
        .wait_for_text("Enter a price in USD, like 19.99.")
        .await;
    assert_eq!(value(&admin, "#f-variant-1-sku").await, sku_l, "kept");
    admin.fill("#f-variant-0-price", "24.50").await;
    admin.click_text("Create product").await;
    admin.wait_for_text(&format!("Created “{name}”.")).await;
    accessible(&admin, javascript, "admin edit product").await;
    let product_path = admin.path().await;
    let product_id = product_path
        .trim_start_matches("/admin/products/")
        .to_owned();
    let slug = format!("ridge-runner-{tag}");
    app.get(&format!("/api/v1/products/{slug}"), None)
        .await
        .expect(404);

    // Published, it is in the shop with both variants and its prices.
    admin
        .find("#f-status")
        .await
        .select_by_value("published")
        .await
        .unwrap();
    admin.click_text("Save product").await;
    admin.wait_for_text(&format!("Saved “{name}”.")).await;
    admin.screenshot("admin-product").await;
    let product = app.get(&format!("/api/v1/products/{slug}"), None).await;
    product.expect(200);
    assert_eq!(product.body["status"], "published");
    assert_eq!(product.body["category_ids"][0], category_id.as_str());
    assert_eq!(product.body["attributes"]["Material"], "Mesh");
    let variants = product.body["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["price"]["amount"], 2450);
    assert_eq!(variants[0]["options"]["Size"], "S");
    assert_eq!(variants[1]["available"], 3);
    let variant_s = variants[0]["id"].as_str().unwrap().to_owned();

    // The list finds it by name and status.
    admin
        .goto(&format!(
            "/admin/products?q=Ridge+Runner+{tag}&status=published"
        ))
        .await;
    admin.find(&format!("a[href='{product_path}']")).await;
    accessible(&admin, javascript, "admin products").await;
    admin.screenshot("admin-products").await;

    // A category with products cannot be deleted: the dashboard says why.
    admin
        .goto(&format!("/admin/categories/{category_id}/delete"))
        .await;
    admin.click_text("Delete category").await;
    admin
        .wait_for_text("still has sub-categories or products, so it cannot be deleted")
        .await;
    accessible(&admin, javascript, "admin category refused").await;

    // Stock: a delivery of ten, then a removal the stock cannot cover.
    admin.goto(&format!("/admin/inventory/{sku_s}")).await;
    admin.fill("#f-delta", "+10").await;
    admin.fill("#f-reason", "Delivery from supplier").await;
    admin.click_text("Adjust stock").await;
    admin
        .wait_for_text(&format!(
            "Adjusted {sku_s} by +10: 15 on hand, 15 available."
        ))
        .await;
    assert!(
        admin
            .text("table.lines")
            .await
            .contains("Delivery from supplier")
    );
    admin.fill("#f-delta", "-100").await;
    admin.fill("#f-reason", "Count").await;
    admin.click_text("Adjust stock").await;
    admin.find(".form-error").await;
    let token = app.admin_token().await;
    let levels = app
        .get(&format!("/api/v1/inventory/{sku_s}"), Some(&token))
        .await;
    assert_eq!(
        levels.body["on_hand"], 15,
        "the refused change changed nothing"
    );
    accessible(&admin, javascript, "admin stock").await;
    admin.screenshot("admin-stock").await;

    // A customer buys two of the small size in the storefront.
    let customer = app.register("buyer").await;
    let shopper = Browser::start(&app.base, javascript).await;
    shopper.goto("/account/login").await;
    shopper.fill("#f-email", &customer.email).await;
    shopper.fill("#f-password", testkit::GOOD_PASSWORD).await;
    shopper.click_text("Log in").await;
    shopper.wait_for_text("Welcome").await;
    shopper.goto(&format!("/p/{slug}")).await;
    assert_eq!(shopper.text("h1").await, name);
    shopper.click(&format!("#v-{variant_s}")).await;
    shopper.fill("#f-quantity", "2").await;
    shopper.click("form.add-to-cart button[type=submit]").await;
    if javascript {
        shopper.wait_for_text("Added to your cart.").await;
    }
    shopper.goto("/checkout").await;
    shopper.fill("#f-name", "Grace Hopper").await;
    shopper.fill("#f-line1", "1 Harbour Street").await;
    shopper.fill("#f-city", "Arlington").await;
    shopper.fill("#f-postal_code", "22201").await;
    shopper.fill("#f-country", "US").await;
    shopper.click_text("Place order").await;
    shopper.fill("#f-card_number", "4242424242424242").await;
    shopper.click("form.pay button[type=submit]").await;
    shopper.wait_for_text("Paid, being prepared").await;
    let order_path = shopper.path().await;
    let order_id = order_path
        .trim_start_matches("/orders/")
        .split(['?', '/'])
        .next()
        .unwrap()
        .to_owned();

    // The overview counts it: placed and paid today, waiting to ship.
    admin.goto("/admin").await;
    let figures = admin.text("table.figures").await;
    assert!(figures.contains("Orders placed 1 1"), "{figures}");
    assert!(
        figures.contains("Revenue (paid orders) $49.00 $49.00"),
        "{figures}"
    );
    assert_eq!(admin.text("#to-ship + p.figure").await, "1");
    admin.screenshot("admin-overview").await;

    // The admin finds it by the customer's email and status.
    admin.goto("/admin/orders").await;
    admin.fill("#f-customer", &customer.email).await;
    admin
        .find("#f-status")
        .await
        .select_by_value("paid")
        .await
        .unwrap();
    admin.click_text("Filter").await;
    admin
        .find(&format!("table.lines a[href='/admin/orders/{order_id}']"))
        .await;
    assert_eq!(admin.all("table.lines tbody tr").await.len(), 1);
    accessible(&admin, javascript, "admin orders").await;
    admin.screenshot("admin-orders").await;
    // Placed today: in today's range, not in another day's.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    admin
        .goto(&format!("/admin/orders?from={today}&to={today}"))
        .await;
    admin
        .find(&format!("table.lines a[href='/admin/orders/{order_id}']"))
        .await;
    admin
        .goto("/admin/orders?from=2001-01-01&to=2001-01-31")
        .await;
    admin.wait_for_text("No orders match.").await;
    admin.goto("/admin/orders?from=yesterday").await;
    admin.wait_for_text("Enter a date as YYYY-MM-DD.").await;
    admin
        .goto(&format!(
            "/admin/orders?customer={}",
            customer.email.replace('@', "%40")
        ))
        .await;
    admin
        .click(&format!("table.lines a[href='/admin/orders/{order_id}']"))
        .await;
    admin.wait_for_text("Grace Hopper").await;
    assert!(admin.text("main").await.contains(&sku_s));
    accessible(&admin, javascript, "admin order").await;

    // Ship with tracking; the second submission is told it is done.
    admin.click_text("Ship…").await;
    accessible(&admin, javascript, "admin ship").await;
    admin.fill("#f-carrier", "DHL").await;
    admin.fill("#f-tracking_number", "JD014600006281").await;
    admin.click_text("Mark shipped").await;
    admin.wait_for_text("is shipped.").await;
    admin.goto(&format!("/admin/orders/{order_id}/ship")).await;
    admin.fill("#f-carrier", "DHL").await;
    admin.fill("#f-tracking_number", "JD014600006281").await;
    admin.click_text("Mark shipped").await;
    admin.wait_for_text("is already shipped.").await;

    // Delivered.
    admin.click_text("Mark delivered…").await;
    admin.click_text("Mark delivered").await;
    admin.wait_for_text("is delivered.").await;

    // A partial refund of 10.00 of the 49.00; the same form sent again
    // (a double click, a reload) refunds nothing more.
    admin.click_text("Refund…").await;
    accessible(&admin, javascript, "admin refund").await;
    assert_eq!(value(&admin, "#f-amount").await, "49.00", "the remainder");
    let key = value(&admin, "form.confirm input[name=key]").await;
    let csrf = value(&admin, "form.confirm input[name=_csrf]").await;
    admin.fill("#f-amount", "10.00").await;
    admin.screenshot("admin-refund").await;
    admin.click_text("Refund").await;
    admin.wait_for_text("Refunded $10.00 of order").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let again = http
        .post(format!("{}/admin/orders/{order_id}/refund", app.base))
        .header("cookie", session_cookie(&admin).await)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("amount", "10.00"),
            ("key", key.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303, "answered as the first time");
    let payments = app
        .get(
            &format!("/api/v1/payments?order_id={order_id}"),
            Some(&token),
        )
        .await;
    assert_eq!(payments.body["items"][0]["refunded_amount"]["amount"], 1000);
    assert_eq!(payments.body["items"][0]["status"], "partially_refunded");
    admin.goto(&format!("/admin/orders/{order_id}")).await;
    admin.wait_for_text("$10.00").await;
    admin.screenshot("admin-order").await;
    let order = app
        .get(&format!("/api/v1/orders/{order_id}"), Some(&token))
        .await;
    assert_eq!(order.body["status"], "delivered");
    assert_eq!(order.body["tracking"]["tracking_number"], "JD014600006281");

    // The customer's order page and mails follow.
    shopper.goto(&order_path).await;
    shopper.wait_for_text("Delivered").await;
    shopper.wait_for_text("JD014600006281").await;
    wait_for_mail(&app, &customer.email, "JD014600006281").await;
    admin
        .goto(&format!(
            "/admin/notifications?to={}",
            customer.email.replace('@', "%40")
        ))
        .await;
    for template in ["order_shipped", "order_delivered", "payment_refunded"] {
        wait_for_text_reloading(&admin, template).await;
    }
    accessible(&admin, javascript, "admin notifications").await;
    admin.screenshot("admin-notifications").await;

    // The customer's account in the dashboard, with the order.
    admin
        .goto(&format!("/admin/customers?email={}", &customer.email[..10]))
        .await;
    admin
        .click(&format!("a[href='/admin/customers/{}']", customer.id))
        .await;
    admin
        .find(&format!("table.lines a[href='/admin/orders/{order_id}']"))
        .await;
    accessible(&admin, javascript, "admin customer").await;
    admin.screenshot("admin-customer").await;

    // The API's rules are shown: an admin cannot demote themselves.
    admin
        .goto(&format!(
            "/admin/customers?email={}",
            ADMIN_EMAIL.replace('@', "%40")
        ))
        .await;
    admin.click("table.lines tbody tr:nth-child(1) a").await;
    admin.click_text("Make customer…").await;
    accessible(&admin, javascript, "admin confirm role").await;
    admin.click_text("Make customer").await;
    admin
        .wait_for_text("Admins cannot disable themselves or remove their own admin role.")
        .await;
    let me = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    me.expect(200);

    // Disabling the customer ends their sessions; enabling lets them back.
    admin
        .goto(&format!("/admin/customers/{}", customer.id))
        .await;
    admin.click_text("Disable account…").await;
    admin.click_text("Disable account").await;
    admin
        .wait_for_text(&format!("{} is disabled.", customer.email))
        .await;
    app.login(&customer.email, testkit::GOOD_PASSWORD)
        .await
        .expect(401);
    admin.click_text("Enable account…").await;
    admin.click_text("Enable account").await;
    admin
        .wait_for_text(&format!("{} can sign in again.", customer.email))
        .await;
    app.login(&customer.email, testkit::GOOD_PASSWORD)
        .await
        .expect(200);

    // The customer cannot open the dashboard, nor sign in to it.
    for path in [
        "/admin",
        "/admin/orders",
        &format!("/admin/orders/{order_id}"),
    ] {
        shopper.goto(path).await;
        shopper
            .wait_for_text("This page is for the shop's admins")
            .await;
    }
    accessible(&shopper, javascript, "admin refused").await;
    let shopper_cookie = session_cookie(&shopper).await;
    for path in ["/admin", "/admin/customers", "/admin/products/new"] {
        let reply = http
            .get(format!("{}{path}", app.base))
            .header("cookie", &shopper_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 403, "{path}");
    }
    let refund_as_customer = http
        .post(format!("{}/admin/orders/{order_id}/refund", app.base))
        .header("cookie", &shopper_cookie)
        .form(&[("amount", "1.00"), ("key", "k")])
        .send()
        .await
        .unwrap();
    assert_eq!(refund_as_customer.status(), 403);
    let other = Browser::start(&app.base, javascript).await;
    other.goto("/admin/login").await;
    other.fill("#f-email", &customer.email).await;
    other.fill("#f-password", testkit::GOOD_PASSWORD).await;
    other.click_text("Sign in").await;
    other
        .wait_for_text("This account is a customer account")
        .await;
    other.goto("/admin").await;
    assert!(
        other.path().await.starts_with("/admin/login"),
        "no session was kept"
    );

    // A form posted without its CSRF token is refused and changes nothing.
    let forged = http
        .post(format!("{}/admin/categories", app.base))
        .header("cookie", session_cookie(&admin).await)
        .form(&[("name", "Forged"), ("slug", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let categories = app.get("/api/v1/categories", None).await;
    assert!(
        !categories.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["slug"] == "forged")
    );

    // Signing out ends the session.
    admin.click("header form.inline button").await;
    admin.wait_for_text("You are signed out.").await;
    admin.goto("/admin/orders").await;
    admin.find("#f-email").await;
    let _ = product_id;
    for browser in [admin, shopper, other] {
        browser.close().await;
    }
}

testkit::on_both_backends!(the_admin_runs_the_shop_from_the_dashboard);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_admin_session_ends() {
    let app = testkit::spawn_with(Backend::Sqlite, |cfg| {
        cfg.web.admin_idle_secs = 5;
    })
    .await;
    let admin = Browser::start(&app.base, false).await;
    sign_in(&admin).await;
    admin.goto("/admin/orders").await;
    admin.find("form.filters-bar").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    admin.goto("/admin/orders").await;
    admin
        .wait_for_text("You were signed out after 5 seconds without activity.")
        .await;
    assert_eq!(admin.path().await, "/admin/login?next=%2Fadmin%2Forders");
    // Signing in again comes back to the page asked for.
    admin.fill("#f-email", ADMIN_EMAIL).await;
    admin.fill("#f-password", ADMIN_PASSWORD).await;
    admin.click_text("Sign in").await;
    admin.find("form.filters-bar").await;
    assert_eq!(admin.path().await, "/admin/orders");
    admin.close().await;
}

async fn the_dashboard_api_additions_follow_the_rules(backend: Backend) {
    let app = shop(backend).await;
    let token = app.admin_token().await;
    let customer = app.register("reader").await;

    // Drafts and archived products are listed for admins only.
    app.get("/api/v1/products?status=draft", None)
        .await
        .expect(401);
    app.get("/api/v1/products?status=any", Some(&customer.access))
        .await
        .expect(403);
    app.get("/api/v1/products?status=sold", Some(&token))
        .await
        .expect(422);
    let all = app
        .get("/api/v1/products?status=any&limit=100", Some(&token))
        .await;
    all.expect(200);
    let published = app.get("/api/v1/products?limit=100", None).await;
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        published.body["items"].as_array().unwrap().len(),
        "the demo catalog is all published"
    );

    // The inventory list pages in SKU order; `below` keeps the low ones.
    let mut skus = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/inventory?limit=7&cursor={c}"),
            None => "/api/v1/inventory?limit=7".to_owned(),
        };
        let page = app.get(&path, Some(&token)).await;
        page.expect(200);
        for item in page.body["items"].as_array().unwrap() {
            skus.push(item["sku"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let variants: usize = published.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["variants"].as_array().unwrap().len())
        .sum();
    assert_eq!(skus.len(), variants, "every SKU once");
    assert!(skus.windows(2).all(|w| w[0] < w[1]), "in SKU order");
    let low = app
        .get("/api/v1/inventory?below=3&limit=100", Some(&token))
        .await;
    for item in low.body["items"].as_array().unwrap() {
        assert!(item["available"].as_i64().unwrap() < 3);
    }
    app.get("/api/v1/inventory?below=0", Some(&token))
        .await
        .expect(422);
    app.get("/api/v1/inventory", Some(&customer.access))
        .await
        .expect(403);

    // The summary and the date filters.
    app.get(
        "/api/v1/orders/summary?from=2026-01-01T00:00:00Z",
        Some(&customer.access),
    )
    .await
    .expect(403);
    let bad = app
        .get("/api/v1/orders/summary?from=yesterday", Some(&token))
        .await;
    bad.expect(422);
    assert_eq!(bad.error_fields(), vec!["from"]);
    app.get("/api/v1/orders/summary", Some(&token))
        .await
        .expect(422);
    let summary = app
        .get(
            "/api/v1/orders/summary?from=2000-01-01T00:00:00Z",
            Some(&token),
        )
        .await;
    summary.expect(200);
    assert_eq!(summary.body["placed"], 0);
    assert_eq!(summary.body["by_status"]["paid"], 0);
    assert_eq!(summary.body["by_status"].as_object().unwrap().len(), 6);
    app.get("/api/v1/orders?created_from=tomorrow", Some(&token))
        .await
        .expect(422);

    // Delivery log filters.
    let welcome = app
        .get(
            &format!(
                "/api/v1/notifications?template=welcome&to={}",
                customer.email.to_uppercase().replace('@', "%40")
            ),
            Some(&token),
        )
        .await;
    welcome.expect(200);
    let items: &Vec<Value> = welcome.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", welcome.text);
    assert_eq!(items[0]["to"], customer.email.as_str());
    app.get("/api/v1/notifications?status=lost", Some(&token))
        .await
        .expect(422);
    let sms = app
        .get("/api/v1/notifications?channel=sms", Some(&token))
        .await;
    assert!(sms.body["items"].as_array().unwrap().is_empty());
}

testkit::on_both_backends!(the_dashboard_api_additions_follow_the_rules);
