//! Black-box tests of checkout over real HTTP: the orders service with the
//! catalog, cart and payments around it, on SQLite and PostgreSQL, with the
//! in-process bus and with NATS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use serde_json::{Value, json};
use testkit::{
    Backend, TestApp, on_both_backends,
    shop::{cart_with, pay, payment_of, place, product, stock, wait_order, wait_status},
    spawn, spawn_targets, spawn_with,
};

const GOOD_CARD: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";
const NO_FUNDS: &str = "4000000000009995";

on_both_backends!(
    a_customer_buys_pays_and_receives,
    the_journey_runs_over_nats,
    a_guest_checks_out_with_an_email,
    an_order_without_stock_is_cancelled,
    a_declined_card_cancels_and_releases_the_stock,
    insufficient_funds_fail_the_payment_too,
    an_unpaid_order_times_out,
    cancelling_a_paid_order_refunds_it_and_restocks,
    checkout_input_is_validated,
    transitions_follow_the_state_machine,
    orders_are_private_and_listed_newest_first,
    an_idempotency_key_replays_the_first_answer,
    concurrent_requests_with_one_key_place_one_order,
    orders_in_its_own_process_reads_carts_over_http,
    parallel_transitions_of_one_order_happen_once,
);

async fn parallel_transitions_of_one_order_happen_once(backend: Backend) {
    use std::sync::Arc;
    let app = Arc::new(spawn(backend).await);
    let admin = app.admin_token().await;
    let variants = product(&app, "racing", &[(1500, 10)]).await;
    let ann = app.register("ann").await;
    let token = Some(ann.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    let order = place(&app, token, &cart, None, None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_status(&app, &order, token, "awaiting_payment").await;
    pay(&app, &order, token, GOOD_CARD).await.expect(200);
    wait_status(&app, &order, token, "paid").await;
    // Ten admins ship at once: one ships, the others find it shipped.
    let path = format!("/api/v1/orders/{order}");
    let replies = testkit::burst(10, |i| {
        let (app, admin, path) = (app.clone(), admin.clone(), path.clone());
        async move {
            app.post(
                &format!("{path}/ship"),
                Some(&admin),
                &json!({"carrier": "UPS", "tracking_number": format!("1Z{i}")}),
            )
            .await
        }
    })
    .await;
    assert_eq!(testkit::count_status(&replies, 200), 1);
    assert_eq!(testkit::count_status(&replies, 409), 9);
    let winner = replies.iter().find(|r| r.status == 200).unwrap();
    let shipped = app.get(&path, Some(&admin)).await;
    assert_eq!(shipped.body["tracking"], winner.body["tracking"]);
    // Delivery and a cancellation at once: whichever wins, the other is
    // refused, and the history holds each status once.
    let replies = testkit::burst(10, |i| {
        let (app, admin, path) = (app.clone(), admin.clone(), path.clone());
        async move {
            if i % 2 == 0 {
                app.post(&format!("{path}/deliver"), Some(&admin), &json!({}))
                    .await
            } else {
                app.post(&format!("{path}/cancel"), Some(&admin), &json!({}))
                    .await
            }
        }
    })
    .await;
    assert_eq!(testkit::count_status(&replies, 200), 1, "delivered once");
    let done = app.get(&path, Some(&admin)).await;
    assert_eq!(
        done.body["status"], "delivered",
        "a shipped order cannot be cancelled"
    );
    let statuses: Vec<&str> = done.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "pending",
            "awaiting_payment",
            "paid",
            "shipped",
            "delivered"
        ]
    );
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn statuses(order: &Value) -> Vec<String> {
    order["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn journey(app: &TestApp) {
    let admin = app.admin_token().await;
    let variants = product(app, "lamp", &[(2500, 10), (4000, 5)]).await;
    let alice = app.register("alice").await;
    let token = Some(alice.access.as_str());

    // Browse: the product is listed and readable.
    let listed = app.get("/api/v1/products?limit=10", None).await;
    listed.expect(200);
    assert!(listed.text.contains("\"lamp\""));
    app.get("/api/v1/products/lamp", None).await.expect(200);

    let cart = cart_with(app, token, &[(&variants[0], 2), (&variants[1], 1)]).await;
    let placed = place(app, token, &cart, None, Some("journey-1")).await;
    placed.expect(201);
    let order = &placed.body;
    assert_eq!(order["status"], "pending");
    assert_eq!(order["payment_status"], "none");
    assert_eq!(order["email"], alice.email);
    assert_eq!(order["customer_id"], alice.id);
    assert_eq!(
        order["subtotal"],
        json!({"amount": 9000, "currency": "USD"})
    );
    assert_eq!(order["total"]["amount"], 9000);
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    assert_eq!(order["items"][0]["line_total"]["amount"], 5000);
    assert_eq!(order["shipping_address"]["country"], "GB");
    // The cart is empty as soon as the order exists.
    let emptied = app.get(&format!("/api/v1/carts/{cart}"), token).await;
    assert_eq!(emptied.body["items"], json!([]), "{}", emptied.text);
    let number = order["number"].as_str().unwrap();
    assert_eq!(number.len(), 11, "{number}");
    let order_id = id(order);

    // Stock is held, the order waits for the money, the cart is empty.
    let waiting = wait_status(app, &order_id, token, "awaiting_payment").await;
    assert_eq!(stock(app, &admin, "LAMP-0").await, (10, 2, 8));
    let waiting = if waiting["payment_id"].is_null() {
        wait_order(app, &order_id, token, "with a payment", |o| {
            !o["payment_id"].is_null()
        })
        .await
    } else {
        waiting
    };
    assert_eq!(waiting["payment_status"], "pending");
    wait_cart_empty(app, &cart, token).await;

    // Pay with the test card.
    let payment = payment_of(app, &order_id, token).await;
    assert_eq!(
        payment["amount"],
        json!({"amount": 9000, "currency": "USD"})
    );
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["provider"], "test");
    assert_eq!(payment["id"], waiting["payment_id"]);
    let paid = pay(app, &order_id, token, GOOD_CARD).await;
    paid.expect(200);
    assert_eq!(paid.body["status"], "succeeded");
    let again = pay(app, &order_id, token, GOOD_CARD).await;
    assert_eq!(again.problem(409)["current_status"], "succeeded");

    let order = wait_status(app, &order_id, token, "paid").await;
    assert_eq!(order["payment_status"], "succeeded");
    // Sold: on hand and reserved both drop.
    wait_stock(app, &admin, "LAMP-0", (8, 0, 8)).await;
    wait_stock(app, &admin, "LAMP-1", (4, 0, 4)).await;

    // The admin ships and delivers.
    let shipped = app
        .post(
            &format!("/api/v1/orders/{order_id}/ship"),
            Some(&admin),
            &json!({"carrier": "DHL", "tracking_number": "JD014600006281"}),
        )
        .await;
    shipped.expect(200);
    assert_eq!(shipped.body["status"], "shipped");
    assert_eq!(
        shipped.body["tracking"],
        json!({"carrier": "DHL", "tracking_number": "JD014600006281"})
    );
    let cancel = app
        .post(
            &format!("/api/v1/orders/{order_id}/cancel"),
            token,
            &json!({}),
        )
        .await;
    assert_eq!(cancel.problem(409)["current_status"], "shipped");
    app.post(
        &format!("/api/v1/orders/{order_id}/deliver"),
        Some(&admin),
        &json!({}),
    )
    .await
    .expect(200);

    let order = app.get(&format!("/api/v1/orders/{order_id}"), token).await;
    order.expect(200);
    assert_eq!(order.body["status"], "delivered");
    assert_eq!(
        statuses(&order.body),
        [
            "pending",
            "awaiting_payment",
            "paid",
            "shipped",
            "delivered"
        ]
    );
    let times: Vec<time::OffsetDateTime> = order.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let at = h["at"].as_str().unwrap();
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap()
        })
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted, "history is oldest first");

    // The customer's history lists it.
    let mine = app.get("/api/v1/orders", token).await;
    mine.expect(200);
    assert_eq!(mine.body["items"][0]["id"], order_id.as_str());
    assert_eq!(mine.body["next_cursor"], Value::Null);
}

async fn wait_cart_empty(app: &TestApp, cart: &str, token: Option<&str>) {
    for _ in 0..500 {
        let body = app.get(&format!("/api/v1/carts/{cart}"), token).await.body;
        if body["items"].as_array().is_some_and(Vec::is_empty) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the cart was not emptied after checkout");
}

async fn wait_stock(app: &TestApp, admin: &str, sku: &str, want: (i64, i64, i64)) {
    for _ in 0..500 {
        if stock(app, admin, sku).await == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "{sku} never reached {want:?}: {:?}",
        stock(app, admin, sku).await
    );
}

async fn a_customer_buys_pays_and_receives(backend: Backend) {
    let app = spawn(backend).await;
    journey(&app).await;
}

async fn the_journey_runs_over_nats(backend: Backend) {
    let nats = testkit::nats::NatsServer::start();
    let app = spawn_with(backend, |cfg| cfg.eventbus.nats_url = Some(nats.url())).await;
    assert_eq!(app.bus.kind(), "nats");
    journey(&app).await;
}

async fn a_guest_checks_out_with_an_email(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "mug", &[(1200, 5)]).await;
    let cart = cart_with(&app, None, &[(&variants[0], 1)]).await;

    let missing = place(&app, None, &cart, None, None).await;
    missing.problem(422);
    assert!(missing.error_fields().contains(&"email".to_owned()));
    let bad = place(&app, None, &cart, Some("not-an-email"), None).await;
    assert!(bad.error_fields().contains(&"email".to_owned()));

    let placed = place(&app, None, &cart, Some("Guest@Example.com"), None).await;
    placed.expect(201);
    assert_eq!(placed.body["customer_id"], Value::Null);
    assert_eq!(placed.body["email"], "guest@example.com");
    let order = id(&placed.body);
    // Anyone with the id follows a guest order, and pays it.
    wait_status(&app, &order, None, "awaiting_payment").await;
    pay(&app, &order, None, GOOD_CARD).await.expect(200);
    let paid = wait_status(&app, &order, None, "paid").await;
    assert_eq!(paid["payment_status"], "succeeded");
    // A customer cannot list it as theirs.
    let bob = app.register("bob").await;
    let listed = app.get("/api/v1/orders", Some(&bob.access)).await;
    assert_eq!(listed.body["items"], json!([]));
    // Without a token the order list is closed.
    app.get("/api/v1/orders", None).await.problem(401);
}

async fn an_order_without_stock_is_cancelled(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let variants = product(&app, "rare", &[(900, 3)]).await;
    let first = app.register("first").await;
    let second = app.register("second").await;
    // Both carts fit the stock on their own; together they do not.
    let c1 = cart_with(&app, Some(&first.access), &[(&variants[0], 2)]).await;
    let c2 = cart_with(&app, Some(&second.access), &[(&variants[0], 2)]).await;
    let o1 = id(&place(&app, Some(&first.access), &c1, None, None).await.body);
    wait_status(&app, &o1, Some(&first.access), "awaiting_payment").await;
    let o2 = id(&place(&app, Some(&second.access), &c2, None, None)
        .await
        .body);
    let cancelled = wait_status(&app, &o2, Some(&second.access), "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "out_of_stock");
    assert_eq!(statuses(&cancelled), ["pending", "cancelled"]);
    assert!(
        cancelled["history"][1]["note"]
            .as_str()
            .unwrap()
            .contains("RARE-0")
    );
    assert_eq!(stock(&app, &admin, "RARE-0").await, (3, 2, 1));
    // No payment is ever opened for it.
    let payments = app
        .get(
            &format!("/api/v1/payments?order_id={o2}"),
            Some(&second.access),
        )
        .await;
    assert_eq!(payments.body["items"], json!([]));
}

async fn failed_payment(backend: Backend, card: &str, code: &str) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let variants = product(&app, "vase", &[(3000, 4)]).await;
    let carol = app.register("carol").await;
    let token = Some(carol.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 3)]).await;
    let order = id(&place(&app, token, &cart, None, None).await.body);
    wait_status(&app, &order, token, "awaiting_payment").await;
    assert_eq!(stock(&app, &admin, "VASE-0").await, (4, 3, 1));
    let reply = pay(&app, &order, token, card).await;
    reply.expect(200);
    assert_eq!(reply.body["status"], "failed");
    assert_eq!(reply.body["failure_code"], code);
    let cancelled = wait_status(&app, &order, token, "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "payment_failed");
    assert_eq!(cancelled["payment_status"], "failed");
    wait_stock(&app, &admin, "VASE-0", (4, 0, 4)).await;
    // A failed payment cannot be retried into success.
    let retry = pay(&app, &order, token, GOOD_CARD).await;
    assert_eq!(retry.problem(409)["current_status"], "failed");
}

async fn a_declined_card_cancels_and_releases_the_stock(backend: Backend) {
    failed_payment(backend, DECLINED, "card_declined").await;
}

async fn insufficient_funds_fail_the_payment_too(backend: Backend) {
    failed_payment(backend, NO_FUNDS, "insufficient_funds").await;
}

async fn an_unpaid_order_times_out(backend: Backend) {
    let app = spawn_with(backend, |cfg| cfg.catalog.reservation_ttl_secs = 1).await;
    let admin = app.admin_token().await;
    let variants = product(&app, "clock", &[(5000, 2)]).await;
    let dan = app.register("dan").await;
    let token = Some(dan.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 2)]).await;
    let order = id(&place(&app, token, &cart, None, None).await.body);
    let cancelled = wait_status(&app, &order, token, "cancelled").await;
    assert_eq!(cancelled["cancel_reason"], "payment_timeout");
    // The voided payment and the order agree.
    assert_eq!(cancelled["payment_status"], "failed");
    let payment = payment_of(&app, &order, token).await;
    let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
    let mut voided = app.get(&path, token).await.body;
    for _ in 0..200 {
        if voided["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        voided = app.get(&path, token).await.body;
    }
    assert_eq!(voided["status"], "failed");
    assert_eq!(voided["failure_code"], "order_cancelled");
    assert_eq!(
        statuses(&cancelled),
        ["pending", "awaiting_payment", "cancelled"]
    );
    wait_stock(&app, &admin, "CLOCK-0", (2, 0, 2)).await;
    // The payment is voided: paying late is refused.
    let payment = payment_of(&app, &order, token).await;
    for _ in 0..500 {
        let p = app
            .get(&format!("/api/v1/payments/{}", id(&payment)), token)
            .await;
        if p.body["status"] == "failed" {
            assert_eq!(p.body["failure_code"], "order_cancelled");
            let late = pay(&app, &order, token, GOOD_CARD).await;
            assert_eq!(late.problem(409)["current_status"], "failed");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the payment of a timed-out order stayed open");
}

async fn cancelling_a_paid_order_refunds_it_and_restocks(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let variants = product(&app, "desk", &[(15000, 3)]).await;
    let erin = app.register("erin").await;
    let token = Some(erin.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    let order = id(&place(&app, token, &cart, None, None).await.body);
    wait_status(&app, &order, token, "awaiting_payment").await;
    pay(&app, &order, token, GOOD_CARD).await.expect(200);
    wait_status(&app, &order, token, "paid").await;
    wait_stock(&app, &admin, "DESK-0", (2, 0, 2)).await;

    let cancelled = app
        .post(
            &format!("/api/v1/orders/{order}/cancel"),
            token,
            &json!({"reason": "found a cheaper one"}),
        )
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["cancel_reason"], "customer_request");
    assert_eq!(cancelled.body["history"][3]["note"], "found a cheaper one");
    let refunded = wait_order(&app, &order, token, "refunded", |o| {
        o["payment_status"] == "refunded"
    })
    .await;
    assert_eq!(refunded["status"], "cancelled");
    let payment = payment_of(&app, &order, token).await;
    assert_eq!(payment["status"], "refunded");
    assert_eq!(payment["refunded_amount"]["amount"], 15000);
    // The sold unit is back on the shelf.
    wait_stock(&app, &admin, "DESK-0", (3, 0, 3)).await;
    let again = app
        .post(&format!("/api/v1/orders/{order}/cancel"), token, &json!({}))
        .await;
    assert_eq!(again.problem(409)["current_status"], "cancelled");
}

async fn checkout_input_is_validated(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "pen", &[(100, 50)]).await;
    let fay = app.register("fay").await;
    let token = Some(fay.access.as_str());
    let empty = cart_with(&app, token, &[]).await;
    let reply = place(&app, token, &empty, None, None).await;
    reply.problem(422);
    assert_eq!(reply.error_fields(), ["cart_id"]);

    let cart = cart_with(&app, None, &[(&variants[0], 1)]).await;
    let no_address = app
        .post(
            "/api/v1/orders",
            token,
            &json!({"cart_id": cart, "payment_provider": "test"}),
        )
        .await;
    no_address.problem(422);
    assert!(
        no_address
            .error_fields()
            .contains(&"shipping_address".to_owned())
    );
    let bad = app
        .post(
            "/api/v1/orders",
            token,
            &json!({"cart_id": cart, "payment_provider": "bitcoin",
                    "shipping_address": {"name": "", "line1": "x", "city": "y", "postal_code": "1", "country": "XX"}}),
        )
        .await;
    bad.problem(422);
    let fields = bad.error_fields();
    for field in [
        "payment_provider",
        "shipping_address.name",
        "shipping_address.country",
    ] {
        assert!(fields.contains(&field.to_owned()), "{fields:?}");
    }
    let unknown = app
        .post(
            "/api/v1/orders",
            token,
            &json!({"cart_id": cart, "payment_provider": "test", "shipping_address": testkit::shop::address(), "total": 1}),
        )
        .await;
    unknown.problem(422);
    // Someone else's cart is not found; so is a cart that does not exist.
    let gus = app.register("gus").await;
    let guss_cart = cart_with(&app, Some(&gus.access), &[(&variants[0], 1)]).await;
    place(&app, token, &guss_cart, None, None)
        .await
        .problem(404);
    place(&app, None, &guss_cart, Some("x@example.com"), None)
        .await
        .problem(404);
    place(&app, token, &uuid::Uuid::new_v4().to_string(), None, None)
        .await
        .problem(404);
    // A malformed key is a 400.
    let long = "k".repeat(256);
    place(&app, token, &cart, None, Some(&long))
        .await
        .problem(400);
    // Nothing was placed by any of it.
    let mine = app.get("/api/v1/orders", token).await;
    assert_eq!(mine.body["items"], json!([]));
}

async fn transitions_follow_the_state_machine(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let variants = product(&app, "sofa", &[(90000, 5)]).await;
    let hal = app.register("hal").await;
    let token = Some(hal.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    let order = id(&place(&app, token, &cart, None, None).await.body);
    wait_status(&app, &order, token, "awaiting_payment").await;

    let ship = json!({"carrier": "UPS", "tracking_number": "1Z999"});
    // Customers do not ship; unpaid orders are not shipped.
    app.post(&format!("/api/v1/orders/{order}/ship"), token, &ship)
        .await
        .problem(403);
    let unpaid = app
        .post(&format!("/api/v1/orders/{order}/ship"), Some(&admin), &ship)
        .await;
    assert_eq!(unpaid.problem(409)["current_status"], "awaiting_payment");
    let not_shipped = app
        .post(
            &format!("/api/v1/orders/{order}/deliver"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(
        not_shipped.problem(409)["current_status"],
        "awaiting_payment"
    );
    let blank = app
        .post(
            &format!("/api/v1/orders/{order}/ship"),
            Some(&admin),
            &json!({"carrier": " ", "tracking_number": "1"}),
        )
        .await;
    assert_eq!(blank.error_fields(), ["carrier"]);
    // An admin may cancel anyone's order; the reason says so.
    let cancelled = app
        .post(
            &format!("/api/v1/orders/{order}/cancel"),
            Some(&admin),
            &json!({}),
        )
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["cancel_reason"], "admin");
    let mut after = wait_status(&app, &order, token, "cancelled").await;
    // Its open payment is voided with it, and the order says so once the
    // payment's event is back (a moment after the cancellation).
    let started = std::time::Instant::now();
    while after["payment_status"] != "failed"
        && started.elapsed() < std::time::Duration::from_secs(10)
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        after = app
            .get(&format!("/api/v1/orders/{order}"), token)
            .await
            .body;
    }
    assert_eq!(after["payment_status"], "failed");
    app.post(&format!("/api/v1/orders/{order}/ship"), Some(&admin), &ship)
        .await
        .problem(409);
    app.post(
        &format!("/api/v1/orders/{}/ship", uuid::Uuid::new_v4()),
        Some(&admin),
        &ship,
    )
    .await
    .problem(404);
}

async fn orders_are_private_and_listed_newest_first(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let variants = product(&app, "cup", &[(500, 100)]).await;
    let ivy = app.register("ivy").await;
    let jon = app.register("jon").await;
    let mut ivys = Vec::new();
    for _ in 0..3 {
        let cart = cart_with(&app, Some(&ivy.access), &[(&variants[0], 1)]).await;
        let placed = place(&app, Some(&ivy.access), &cart, None, None).await;
        placed.expect(201);
        ivys.push(id(&placed.body));
        wait_cart_empty(&app, &cart, Some(&ivy.access)).await;
    }
    let jons_cart = cart_with(&app, Some(&jon.access), &[(&variants[0], 1)]).await;
    let jons = id(&place(&app, Some(&jon.access), &jons_cart, None, None)
        .await
        .body);

    // Another customer's order is a 404, not a 403.
    app.get(&format!("/api/v1/orders/{jons}"), Some(&ivy.access))
        .await
        .problem(404);
    app.get(&format!("/api/v1/orders/{jons}"), None)
        .await
        .problem(404);
    app.post(
        &format!("/api/v1/orders/{jons}/cancel"),
        Some(&ivy.access),
        &json!({}),
    )
    .await
    .problem(404);
    app.get(&format!("/api/v1/orders/{jons}"), Some(&admin))
        .await
        .expect(200);

    // Pages of two, newest first, then the rest.
    let first = app.get("/api/v1/orders?limit=2", Some(&ivy.access)).await;
    first.expect(200);
    let page: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(page, [ivys[2].clone(), ivys[1].clone()]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/orders?limit=2&cursor={cursor}"),
            Some(&ivy.access),
        )
        .await;
    assert_eq!(second.body["items"][0]["id"], ivys[0].as_str());
    assert_eq!(second.body["next_cursor"], Value::Null);
    // A customer's filter cannot reach someone else's orders.
    let sneaky = app
        .get(
            &format!("/api/v1/orders?customer_id={}", jon.id),
            Some(&ivy.access),
        )
        .await;
    assert_eq!(sneaky.body["items"].as_array().unwrap().len(), 3);

    // The admin filters by customer and by status.
    let jon_only = app
        .get(
            &format!("/api/v1/orders?customer_id={}", jon.id),
            Some(&admin),
        )
        .await;
    assert_eq!(jon_only.body["items"].as_array().unwrap().len(), 1);
    wait_status(&app, &ivys[0], Some(&ivy.access), "awaiting_payment").await;
    pay(&app, &ivys[0], Some(&ivy.access), GOOD_CARD)
        .await
        .expect(200);
    wait_status(&app, &ivys[0], Some(&ivy.access), "paid").await;
    let paid = app.get("/api/v1/orders?status=paid", Some(&admin)).await;
    assert_eq!(paid.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(paid.body["items"][0]["id"], ivys[0].as_str());
    let bad = app
        .get(
            "/api/v1/orders?status=lost&customer_id=x&limit=0",
            Some(&admin),
        )
        .await;
    bad.problem(422);
    app.get("/api/v1/orders?cursor=nonsense", Some(&admin))
        .await
        .problem(422);
}

async fn an_idempotency_key_replays_the_first_answer(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "hat", &[(700, 10)]).await;
    let kim = app.register("kim").await;
    let token = Some(kim.access.as_str());
    let cart = cart_with(&app, token, &[(&variants[0], 1)]).await;
    let first = place(&app, token, &cart, None, Some("key-1")).await;
    first.expect(201);
    let again = place(&app, token, &cart, None, Some("key-1")).await;
    again.expect(201);
    assert_eq!(again.text, first.text, "the same body, byte for byte");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // The same key with another body is refused.
    let other = app
        .post_with(
            "/api/v1/orders",
            token,
            &[("Idempotency-Key", "key-1")],
            &json!({"cart_id": cart, "shipping_address": testkit::shop::address(), "payment_provider": "test", "email": "x@example.com"}),
        )
        .await;
    other.problem(422);
    // Keys are per caller: another customer's "key-1" is theirs.
    let lee = app.register("lee").await;
    let lees_cart = cart_with(&app, Some(&lee.access), &[(&variants[0], 2)]).await;
    let lees = place(&app, Some(&lee.access), &lees_cart, None, Some("key-1")).await;
    lees.expect(201);
    assert_ne!(lees.body["id"], first.body["id"]);
    // A failed request does not use up its key.
    let empty = cart_with(&app, token, &[]).await;
    wait_cart_empty(&app, &cart, token).await;
    place(&app, token, &empty, None, Some("key-2"))
        .await
        .problem(422);
    app.post(
        &format!("/api/v1/carts/{empty}/items"),
        token,
        &json!({"variant_id": variants[0], "quantity": 1}),
    )
    .await
    .expect(200);
    place(&app, token, &empty, None, Some("key-2"))
        .await
        .expect(201);
    let mine = app.get("/api/v1/orders", token).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 2);
}

async fn concurrent_requests_with_one_key_place_one_order(backend: Backend) {
    let app = std::sync::Arc::new(spawn(backend).await);
    let variants = product(&app, "bag", &[(4200, 100)]).await;
    let max = app.register("max").await;
    let cart = cart_with(&app, Some(&max.access), &[(&variants[0], 1)]).await;
    let attempts = (0..20).map(|_| {
        let app = app.clone();
        let token = max.access.clone();
        let cart = cart.clone();
        async move { place(&app, Some(&token), &cart, None, Some("same-key")).await }
    });
    let replies = futures::future::join_all(attempts).await;
    let mut ids = std::collections::HashSet::new();
    for reply in &replies {
        match reply.status.as_u16() {
            201 => {
                ids.insert(reply.body["id"].as_str().unwrap().to_owned());
            }
            409 => {} // still in flight when it arrived
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(ids.len(), 1, "one order, however many answers");
    let orders = app.get("/api/v1/orders", Some(&max.access)).await;
    assert_eq!(orders.body["items"].as_array().unwrap().len(), 1);
}

async fn orders_in_its_own_process_reads_carts_over_http(backend: Backend) {
    use testkit::Target;
    let nats = testkit::nats::NatsServer::start();
    let shop = spawn_targets(
        backend,
        &[
            Target::Users,
            Target::Catalog,
            Target::Pricing,
            Target::Cart,
            Target::Payments,
        ],
        |cfg| cfg.eventbus.nats_url = Some(nats.url()),
    )
    .await;
    let jwks = format!("{}/.well-known/jwks.json", shop.base);
    let cart_url = shop.base.clone();
    let pricing_url = shop.base.clone();
    let orders = spawn_targets(backend, &[Target::Orders], |cfg| {
        cfg.eventbus.nats_url = Some(nats.url());
        cfg.orders.cart_url = Some(cart_url);
        cfg.orders.pricing_url = Some(pricing_url.clone());
        cfg.auth.jwks_url = Some(jwks.clone());
    })
    .await;
    let variants = product(&shop, "remote", &[(2500, 4)]).await;
    let nia = shop.register("nia").await;
    let token = Some(nia.access.as_str());
    let cart = cart_with(&shop, token, &[(&variants[0], 2)]).await;
    // The cart's own rules apply: without the owner's token it is not found.
    place(&orders, None, &cart, Some("x@example.com"), None)
        .await
        .problem(404);
    let placed = place(&orders, token, &cart, None, Some("remote-1")).await;
    placed.expect(201);
    assert_eq!(placed.body["total"]["amount"], 5000);
    assert_eq!(placed.body["items"][0]["sku"], "REMOTE-0");
    assert_eq!(placed.body["email"], nia.email);
    let order = id(&placed.body);
    // The saga crosses processes over NATS: reserve, open the payment, pay.
    let waiting = wait_order(&orders, &order, token, "with a payment", |o| {
        o["status"] == "awaiting_payment" && !o["payment_id"].is_null()
    })
    .await;
    let payment = waiting["payment_id"].as_str().unwrap();
    shop.post(
        &format!("/api/v1/payments/{payment}/confirm"),
        token,
        &json!({"card_number": GOOD_CARD}),
    )
    .await
    .expect(200);
    wait_status(&orders, &order, token, "paid").await;
    wait_cart_empty(&shop, &cart, token).await;

    // The cart service is down: a clear 503, not a hang or a 500.
    let dead = spawn_targets(backend, &[Target::Orders], |cfg| {
        cfg.orders.cart_url = Some("http://127.0.0.1:9".into());
        cfg.orders.pricing_url = Some(pricing_url);
        cfg.auth.jwks_url = Some(jwks);
    })
    .await;
    let reply = place(&dead, token, &cart, None, None).await;
    assert_eq!(reply.problem(503)["code"], "ORD-0003");
    assert!(reply.header("retry-after").is_some());
}
