//! Black-box tests of pricing over real HTTP, on SQLite and PostgreSQL:
//! the admin's shipping options, tax rates and promotions, a cart's codes
//! and discount, an order's every total and its payment, and promotion
//! limits under concurrent checkouts (also over NATS).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use serde_json::{Value, json};
use testkit::{
    Backend, TestApp, on_both_backends,
    shop::{address, cart_with, pay, payment_of, place, product, wait_status},
    spawn, spawn_with,
};

const GOOD_CARD: &str = "4242424242424242";

on_both_backends!(
    definitions_are_the_admins_and_are_validated,
    a_cart_shows_its_promotions_and_why_a_code_cannot_apply,
    an_order_is_priced_with_discount_shipping_and_tax_and_charged_its_total,
    a_code_limited_to_ten_uses_is_on_ten_orders_of_a_hundred_concurrent_checkouts,
    limits_hold_over_nats_and_per_customer,
);

fn id(body: &Value) -> String {
    body["id"].as_str().expect("id").to_owned()
}

async fn create(app: &TestApp, admin: &str, path: &str, body: Value) -> Value {
    let reply = app.post(path, Some(admin), &body).await;
    reply.expect(201);
    reply.body.clone()
}

/// A cart's `promotions` as `(code, discount)`.
fn applied(cart: &Value) -> Vec<(Value, i64)> {
    cart["promotions"]
        .as_array()
        .expect("promotions")
        .iter()
        .map(|p| (p["code"].clone(), p["discount"]["amount"].as_i64().unwrap()))
        .collect()
}

async fn definitions_are_the_admins_and_are_validated(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let eve = app.register("eve").await;
    let option =
        json!({"name": "Standard", "countries": ["GB", "fr"], "currency": "usd", "price": 500});
    for (path, body) in [
        ("/api/v1/shipping-options", option.clone()),
        (
            "/api/v1/tax-rates",
            json!({"country": "GB", "name": "VAT", "rate": 2000}),
        ),
        (
            "/api/v1/promotions",
            json!({"name": "Ten", "kind": "percentage", "value": 1000}),
        ),
    ] {
        app.post(path, None, &body).await.problem(401);
        app.post(path, Some(&eve.access), &body).await.problem(403);
    }
    app.get("/api/v1/tax-rates", Some(&eve.access))
        .await
        .problem(403);
    app.get("/api/v1/promotions", Some(&eve.access))
        .await
        .problem(403);

    // Shipping options: stored normalized, listed by destination and currency.
    let standard = create(&app, &admin, "/api/v1/shipping-options", option).await;
    assert_eq!(standard["countries"], json!(["GB", "FR"]));
    assert_eq!(
        (&standard["currency"], &standard["active"]),
        (&json!("USD"), &json!(true))
    );
    let everywhere = create(
        &app,
        &admin,
        "/api/v1/shipping-options",
        json!({"name": "World", "countries": ["*"], "currency": "USD", "price": 2500, "min_days": 5, "max_days": 10}),
    )
    .await;
    for (bad, field) in [
        (
            json!({"name": "X", "countries": [], "currency": "USD", "price": 1}),
            "countries",
        ),
        (
            json!({"name": "X", "countries": ["*", "GB"], "currency": "USD", "price": 1}),
            "countries",
        ),
        (
            json!({"name": "X", "countries": ["GB"], "currency": "USD", "price": -1}),
            "price",
        ),
        (
            json!({"name": "X", "countries": ["GB"], "currency": "USD", "price": 1, "min_days": 4, "max_days": 2}),
            "max_days",
        ),
        (
            json!({"name": " ", "countries": ["GB"], "currency": "USD", "price": 1}),
            "name",
        ),
    ] {
        let reply = app
            .post("/api/v1/shipping-options", Some(&admin), &bad)
            .await;
        reply.problem(422);
        assert_eq!(reply.error_fields(), [field], "{bad}");
    }
    let listed = |query: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .get(&format!("/api/v1/shipping-options{query}"), None)
                .await;
            reply.expect(200);
            reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed("?country=gb&currency=USD").await,
        ["Standard", "World"]
    );
    assert_eq!(listed("?country=DE&currency=USD").await, ["World"]);
    assert!(listed("?country=GB&currency=EUR").await.is_empty());
    let path = format!("/api/v1/shipping-options/{}", id(&standard));
    let changed = app
        .patch(
            &path,
            Some(&admin),
            &json!({"active": false, "free_over": 5000}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["free_over"], 5000);
    assert_eq!(listed("?country=GB&currency=USD").await, ["World"]);
    // An admin without filters sees the inactive one too.
    let all = app.get("/api/v1/shipping-options", Some(&admin)).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    app.delete(&path, Some(&admin)).await.expect(204);
    app.patch(&path, Some(&admin), &json!({"price": 1}))
        .await
        .problem(404);
    app.delete(
        &format!("/api/v1/shipping-options/{}", id(&everywhere)),
        Some(&admin),
    )
    .await
    .expect(204);

    // Tax rates: one per country and region.
    let vat = create(
        &app,
        &admin,
        "/api/v1/tax-rates",
        json!({"country": "gb", "name": "VAT", "rate": 2000, "applies_to_shipping": true}),
    )
    .await;
    assert_eq!(
        (&vat["country"], &vat["region"]),
        (&json!("GB"), &Value::Null)
    );
    let again = app
        .post(
            "/api/v1/tax-rates",
            Some(&admin),
            &json!({"country": "GB", "name": "Other", "rate": 500}),
        )
        .await;
    assert_eq!(again.problem(409)["code"], "PRC-0003");
    create(
        &app,
        &admin,
        "/api/v1/tax-rates",
        json!({"country": "US", "region": "NY", "name": "NY sales tax", "rate": 888}),
    )
    .await;
    let bad = app
        .post(
            "/api/v1/tax-rates",
            Some(&admin),
            &json!({"country": "DE", "name": "MwSt", "rate": 10001}),
        )
        .await;
    assert_eq!(bad.error_fields(), ["rate"]);
    let rates = app.get("/api/v1/tax-rates", Some(&admin)).await;
    assert_eq!(rates.body["items"].as_array().unwrap().len(), 2);
    let path = format!("/api/v1/tax-rates/{}", id(&vat));
    let changed = app.patch(&path, Some(&admin), &json!({"rate": 1750})).await;
    assert_eq!(changed.body["rate"], 1750);
    app.delete(&path, Some(&admin)).await.expect(204);
    app.delete(&path, Some(&admin)).await.problem(404);

    // Promotions: codes upper-cased and unique in any case; kinds checked.
    let spring = create(
        &app,
        &admin,
        "/api/v1/promotions",
        json!({"code": "spring-26", "name": "Spring", "kind": "fixed", "value": 500, "currency": "USD", "usage_limit": 3}),
    )
    .await;
    assert_eq!(
        (&spring["code"], &spring["times_used"]),
        (&json!("SPRING-26"), &json!(0))
    );
    let taken = app
        .post(
            "/api/v1/promotions",
            Some(&admin),
            &json!({"code": "SPRING-26", "name": "Again", "kind": "free_shipping", "value": 0}),
        )
        .await;
    assert_eq!(taken.problem(409)["code"], "PRC-0002");
    for (bad, field) in [
        (
            json!({"name": "X", "kind": "fixed", "value": 500}),
            "currency",
        ),
        (
            json!({"name": "X", "kind": "percentage", "value": 10001}),
            "value",
        ),
        (
            json!({"name": "X", "kind": "free_shipping", "value": 5}),
            "value",
        ),
        (json!({"name": "X", "kind": "bogo", "value": 5}), "kind"),
        (
            json!({"code": "NO SPACES", "name": "X", "kind": "free_shipping", "value": 0}),
            "code",
        ),
        (
            json!({"name": "X", "kind": "free_shipping", "value": 0, "starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"name": "X", "kind": "free_shipping", "value": 0, "starts_at": "tomorrow"}),
            "starts_at",
        ),
    ] {
        let reply = app.post("/api/v1/promotions", Some(&admin), &bad).await;
        reply.problem(422);
        assert_eq!(reply.error_fields(), [field], "{bad}");
    }
    let path = format!("/api/v1/promotions/{}", id(&spring));
    let changed = app
        .patch(
            &path,
            Some(&admin),
            &json!({"code": null, "ends_at": "2030-01-01T00:00:00Z"}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["code"], Value::Null);
    assert_eq!(changed.body["ends_at"], "2030-01-01T00:00:00Z");
    // Paged oldest first.
    for i in 0..3 {
        create(
            &app,
            &admin,
            "/api/v1/promotions",
            json!({"code": format!("P{i}"), "name": "P", "kind": "percentage", "value": 100}),
        )
        .await;
    }
    let first = app.get("/api/v1/promotions?limit=2", Some(&admin)).await;
    assert_eq!(first.body["items"][0]["id"], spring["id"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(
            &format!("/api/v1/promotions?limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_eq!(second.body["items"][1]["code"], "P2");
    assert_eq!(second.body["next_cursor"], Value::Null);
    app.delete(&path, Some(&admin)).await.expect(204);
    app.get(&path, Some(&admin)).await.problem(404);
}

async fn a_cart_shows_its_promotions_and_why_a_code_cannot_apply(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let variants = product(&app, "tea", &[(1999, 50), (500, 50)]).await;
    let cart = cart_with(&app, None, &[(&variants[0], 2), (&variants[1], 1)]).await;
    let path = format!("/api/v1/carts/{cart}");
    let before = app.get(&path, None).await;
    assert_eq!(before.body["discount_total"]["amount"], 0);
    assert_eq!(before.body["total"]["amount"], 4498);

    // An automatic 5 % and a code for 10.00 off.
    let auto = create(
        &app,
        &admin,
        "/api/v1/promotions",
        json!({"name": "Everyone", "kind": "percentage", "value": 500}),
    )
    .await;
    create(
        &app,
        &admin,
        "/api/v1/promotions",
        json!({"code": "TENOFF", "name": "Ten off", "kind": "fixed", "value": 1000, "currency": "USD"}),
    )
    .await;
    let now = app.get(&path, None).await;
    // round(4498 x 5 %) = 225.
    assert_eq!(applied(&now.body), [(Value::Null, 225)]);
    assert_eq!(now.body["promotions"][0]["promotion_id"], auto["id"]);
    let with_code = app
        .post(
            &format!("{path}/promotions"),
            None,
            &json!({"code": "tenoff"}),
        )
        .await;
    with_code.expect(200);
    assert_eq!(
        applied(&with_code.body),
        [(Value::Null, 225), (json!("TENOFF"), 1000)]
    );
    assert_eq!(with_code.body["discount_total"]["amount"], 1225);
    assert_eq!(with_code.body["total"]["amount"], 4498 - 1225);
    assert_eq!(
        app.get(&path, None).await.body["discount_total"]["amount"],
        1225
    );

    // Each reason a code cannot apply has its own problem type.
    let promotions = [
        ("OFF", json!({"active": false})),
        ("SOON", json!({"starts_at": "2099-01-01T00:00:00Z"})),
        ("OVER", json!({"ends_at": "2020-01-01T00:00:00Z"})),
        ("BIGSPEND", json!({"min_subtotal": 100_000})),
        ("EUROS", json!({"currency": "EUR"})),
    ];
    for (code, extra) in &promotions {
        let mut body = json!({"code": code, "name": code, "kind": "percentage", "value": 1000});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        create(&app, &admin, "/api/v1/promotions", body).await;
    }
    for (code, reason) in [
        ("NOPE", "unknown"),
        ("off", "inactive"),
        ("SOON", "not-started"),
        ("OVER", "expired"),
        ("BIGSPEND", "minimum-not-met"),
        ("EUROS", "currency-mismatch"),
    ] {
        let reply = app
            .post(&format!("{path}/promotions"), None, &json!({"code": code}))
            .await;
        let problem = reply.problem(422);
        assert_eq!(
            problem["type"],
            format!("https://mercato.dev/problems/promotions/{reason}"),
            "{code}"
        );
        assert_eq!(reply.error_fields(), ["code"]);
    }
    // A refused code leaves the cart as it was.
    assert_eq!(applied(&app.get(&path, None).await.body).len(), 2);
    let removed = app.delete(&format!("{path}/promotions/TenOff"), None).await;
    removed.expect(200);
    assert_eq!(applied(&removed.body), [(Value::Null, 225)]);
    assert_eq!(removed.body["promotion_code"], Value::Null);
}

/// Standard (5.00, free over 100.00) and Express (15.00) to GB, and
/// another option only to the US; 20 % VAT in GB, on shipping too.
async fn gb_rules(app: &TestApp, admin: &str) -> (String, String, String) {
    let standard = create(
        app,
        admin,
        "/api/v1/shipping-options",
        json!({"name": "Standard", "countries": ["GB"], "currency": "USD", "price": 500, "free_over": 10_000, "min_days": 2, "max_days": 4}),
    )
    .await;
    let express = create(
        app,
        admin,
        "/api/v1/shipping-options",
        json!({"name": "Express", "countries": ["GB", "IE"], "currency": "USD", "price": 1500, "min_days": 1, "max_days": 1}),
    )
    .await;
    let us = create(
        app,
        admin,
        "/api/v1/shipping-options",
        json!({"name": "US only", "countries": ["US"], "currency": "USD", "price": 100}),
    )
    .await;
    create(
        app,
        admin,
        "/api/v1/tax-rates",
        json!({"country": "GB", "name": "VAT", "rate": 2000, "applies_to_shipping": true}),
    )
    .await;
    (id(&standard), id(&express), id(&us))
}

async fn an_order_is_priced_with_discount_shipping_and_tax_and_charged_its_total(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let (standard, express, us) = gb_rules(&app, &admin).await;
    create(
        &app,
        &admin,
        "/api/v1/promotions",
        json!({"code": "TEN", "name": "Ten percent", "kind": "percentage", "value": 1000}),
    )
    .await;
    let variants = product(&app, "kettle", &[(1999, 50), (500, 50)]).await;
    let ada = app.register("ada").await;
    let token = Some(ada.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 2), (&variants[1], 1)]).await;
    app.post(
        &format!("/api/v1/carts/{cart}/promotions"),
        token,
        &json!({"code": "ten"}),
    )
    .await
    .expect(200);

    // The options to GB, each at its price for this cart, cheapest first.
    let options = app
        .get(
            &format!("/api/v1/carts/{cart}/shipping-options?country=gb"),
            token,
        )
        .await;
    options.expect(200);
    let names: Vec<(&str, i64)> = options.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["price"].as_i64().unwrap()))
        .collect();
    assert_eq!(names, [("Standard", 500), ("Express", 1500)]);
    assert_eq!(options.body["items"][0]["min_days"], 2);

    // An option that does not ship to GB is a 422 and places nothing.
    let mut body = json!({"cart_id": cart, "shipping_address": address(), "payment_provider": "test", "shipping_option_id": us});
    let refused = app.post("/api/v1/orders", token, &body).await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), ["shipping_option_id"]);

    // Express: subtotal 4498; 10 % = 450, split 400 / 50; shipping 1500;
    // VAT (3598 + 450) x 20 % = 720 + 90, and 300 on shipping.
    body["shipping_option_id"] = json!(express);
    let placed = app.post("/api/v1/orders", token, &body).await;
    placed.expect(201);
    let order = &placed.body;
    let amount = |key: &str| order[key]["amount"].as_i64().unwrap();
    assert_eq!(
        (
            amount("subtotal"),
            amount("discount_total"),
            amount("shipping_total"),
            amount("tax_total"),
            amount("total")
        ),
        (4498, 450, 1500, 1110, 6658)
    );
    let lines: Vec<(i64, i64)> = order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["discount"]["amount"].as_i64().unwrap(),
                l["tax"]["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines, [(400, 720), (50, 90)]);
    assert_eq!(
        order["shipping_option"],
        json!({"id": express, "name": "Express"})
    );
    assert_eq!(order["promotions"][0]["code"], "TEN");
    assert_eq!(order["promotions"][0]["discount"]["amount"], 450);
    let order_id = id(order);
    wait_status(&app, &order_id, token, "awaiting_payment").await;
    let payment = payment_of(&app, &order_id, token).await;
    assert_eq!(payment["amount"]["amount"], 6658);
    pay(&app, &order_id, token, GOOD_CARD).await.expect(200);
    let paid = wait_status(&app, &order_id, token, "paid").await;
    assert_eq!(paid["total"]["amount"], 6658);

    // Without a choice, the cheapest option serving the address; a
    // destination without options or rates adds nothing.
    let cart = cart_with(&app, token, &[(&variants[1], 2)]).await;
    let placed = place(&app, token, &cart, None, None).await;
    placed.expect(201);
    assert_eq!(placed.body["shipping_option"]["id"], json!(standard));
    // 1000 + 500 shipping, and 20 % on both.
    assert_eq!(placed.body["total"]["amount"], 1000 + 500 + 300);
    let cart = cart_with(&app, token, &[(&variants[1], 2)]).await;
    let mut japan = address();
    japan["country"] = json!("JP");
    let placed = app
        .post(
            "/api/v1/orders",
            token,
            &json!({"cart_id": cart, "shipping_address": japan, "payment_provider": "test"}),
        )
        .await;
    placed.expect(201);
    assert_eq!(placed.body["shipping_option"], Value::Null);
    assert_eq!(
        (
            &placed.body["shipping_total"]["amount"],
            &placed.body["tax_total"]["amount"],
            &placed.body["total"]["amount"]
        ),
        (&json!(0), &json!(0), &json!(1000))
    );
}

/// A cart of one unit with `code` applied; guests check out by email.
async fn cart_with_code(app: &TestApp, token: Option<&str>, variant: &str, code: &str) -> String {
    let cart = cart_with(app, token, &[(variant, 1)]).await;
    app.post(
        &format!("/api/v1/carts/{cart}/promotions"),
        token,
        &json!({"code": code}),
    )
    .await
    .expect(200);
    cart
}

/// Places every cart at once; returns the replies in cart order.
async fn place_all(app: &std::sync::Arc<TestApp>, carts: &[String]) -> Vec<testkit::Reply> {
    testkit::burst(carts.len(), |i| {
        let (app, cart) = (app.clone(), carts[i].clone());
        async move {
            let email = format!("guest{i}@example.com");
            place(&app, None, &cart, Some(&email), None).await
        }
    })
    .await
}

async fn a_code_limited_to_ten_uses_is_on_ten_orders_of_a_hundred_concurrent_checkouts(
    backend: Backend,
) {
    let app = std::sync::Arc::new(spawn(backend).await);
    limited_code_under_load(&app, 100).await;
}

/// `n` concurrent guest checkouts of a code limited to 10 uses: exactly
/// ten orders carry it, every other placing is the documented 422, and a
/// cancelled order gives its use back.
async fn limited_code_under_load(app: &std::sync::Arc<TestApp>, n: usize) {
    let admin = app.admin_token().await;
    let variants = product(app, "limited", &[(2000, 1000)]).await;
    let promotion = create(
        app,
        &admin,
        "/api/v1/promotions",
        json!({"code": "FIRST10", "name": "First ten", "kind": "fixed", "value": 500, "currency": "USD", "usage_limit": 10}),
    )
    .await;
    let mut carts = Vec::new();
    for _ in 0..n {
        carts.push(cart_with_code(app, None, &variants[0], "FIRST10").await);
    }
    let replies = place_all(app, &carts).await;
    assert_eq!(testkit::count_status(&replies, 201), 10);
    assert_eq!(testkit::count_status(&replies, 422), n - 10);
    for reply in &replies {
        if reply.status.as_u16() == 201 {
            // None is placed without its discount.
            assert_eq!(reply.body["discount_total"]["amount"], 500);
            assert_eq!(reply.body["total"]["amount"], 1500);
        } else {
            assert_eq!(
                reply.body["type"],
                "https://mercato.dev/problems/promotions/used-up"
            );
        }
    }
    // Orders are the judge: ten carry the code, across all of them.
    let all = app.get("/api/v1/orders?limit=100", Some(&admin)).await;
    let with_code = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["promotions"][0]["code"] == "FIRST10")
        .count();
    assert_eq!(with_code, 10);
    // pricing's mirror counts them too (from order.placed).
    let path = format!("/api/v1/promotions/{}", id(&promotion));
    wait_times_used(app, &admin, &path, 10).await;
    // A new cart is now told the code is used up.
    let late = cart_with(app, None, &[(&variants[0], 1)]).await;
    let reply = app
        .post(
            &format!("/api/v1/carts/{late}/promotions"),
            None,
            &json!({"code": "FIRST10"}),
        )
        .await;
    assert_eq!(
        reply.problem(422)["type"],
        "https://mercato.dev/problems/promotions/used-up"
    );
    // A cancelled order gives its use back: one more checkout gets it.
    let first = replies.iter().find(|r| r.status.as_u16() == 201).unwrap();
    let cancelled = app
        .post(
            &format!("/api/v1/orders/{}/cancel", id(&first.body)),
            Some(&admin),
            &json!({}),
        )
        .await;
    cancelled.expect(200);
    wait_times_used(app, &admin, &path, 9).await;
    let mut refused = (0..n).filter(|&i| replies[i].status.as_u16() == 422);
    let (one, two) = (refused.next().unwrap(), refused.next().unwrap());
    let again = place(app, None, &carts[one], Some("late@example.com"), None).await;
    again.expect(201);
    assert_eq!(again.body["discount_total"]["amount"], 500);
    let more = place(app, None, &carts[two], Some("later@example.com"), None).await;
    more.problem(422);
}

async fn wait_times_used(app: &TestApp, admin: &str, path: &str, want: i64) {
    for _ in 0..400 {
        if app.get(path, Some(admin)).await.body["times_used"] == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("times_used never became {want}");
}

async fn limits_hold_over_nats_and_per_customer(backend: Backend) {
    let nats = testkit::nats::NatsServer::start();
    let app = std::sync::Arc::new(
        spawn_with(backend, |cfg| cfg.eventbus.nats_url = Some(nats.url())).await,
    );
    assert_eq!(app.bus.kind(), "nats");
    limited_code_under_load(&app, 100).await;

    // Once per customer: the second order is refused, the same customer's
    // cancelled order lets them use it again.
    let admin = app.admin_token().await;
    let variants = product(&app, "once", &[(1000, 100)]).await;
    create(
        &app,
        &admin,
        "/api/v1/promotions",
        json!({"code": "WELCOME", "name": "Welcome", "kind": "percentage", "value": 2000, "usage_limit_per_customer": 1}),
    )
    .await;
    let bo = app.register("bo").await;
    let token = Some(bo.access.as_str());
    let cart = cart_with_code(&app, token, &variants[0], "WELCOME").await;
    let first = place(&app, token, &cart, None, None).await;
    first.expect(201);
    assert_eq!(first.body["discount_total"]["amount"], 200);
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    // The cart is told early (pricing's mirror), once order.placed arrived.
    let mut refused = None;
    for _ in 0..400 {
        let reply = app
            .post(
                &format!("/api/v1/carts/{cart}/promotions"),
                token,
                &json!({"code": "WELCOME"}),
            )
            .await;
        if reply.status.as_u16() == 422 {
            refused = Some(reply);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let refused = refused.expect("the code was never refused for the customer");
    assert_eq!(
        refused.body["type"],
        "https://mercato.dev/problems/promotions/used-up-for-customer"
    );
    // Another customer may still use it.
    let cy = app.register("cy").await;
    let cart_cy = cart_with_code(&app, Some(&cy.access), &variants[0], "WELCOME").await;
    place(&app, Some(&cy.access), &cart_cy, None, None)
        .await
        .expect(201);
    app.post(
        &format!("/api/v1/orders/{}/cancel", id(&first.body)),
        token,
        &json!({}),
    )
    .await
    .expect(200);
    let mut applied_again = false;
    for _ in 0..400 {
        let reply = app
            .post(
                &format!("/api/v1/carts/{cart}/promotions"),
                token,
                &json!({"code": "WELCOME"}),
            )
            .await;
        if reply.status.as_u16() == 200 {
            applied_again = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(applied_again, "the cancelled order's use never came back");
    place(&app, token, &cart, None, None).await.expect(201);
}
