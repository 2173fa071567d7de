//! Black-box tests of the cart service over real HTTP, on SQLite and
//! PostgreSQL, with the catalog in process and over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use serde_json::{Value, json};
use testkit::{Backend, Target, TestApp, on_both_backends, spawn, spawn_targets};

mod concurrency;

on_both_backends!(
    guest_carts_are_reached_by_their_id_alone,
    a_customer_has_one_active_cart_that_others_cannot_see,
    lines_are_priced_by_the_catalog_and_totals_add_up,
    quantities_and_stock_are_checked,
    lines_change_and_go,
    a_guest_cart_is_claimed_into_the_customers_cart,
    a_cart_holds_at_most_one_hundred_lines,
    a_cart_in_another_process_reads_the_catalog_over_http,
    a_cart_passes_over_catalog_instances_that_cannot_be_reached,
    idle_carts_expire_after_the_configured_days,
    a_price_change_in_the_catalog_reprices_cart_lines,
);

async fn a_price_change_in_the_catalog_reprices_cart_lines(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "pricey", &[(1000, 10)]).await;
    let cart = guest_cart(&app).await;
    add(&app, &cart, None, &variants[0], 2).await.expect(200);
    let admin = app.admin_token().await;
    let product_id = app.get("/api/v1/products/pricey", None).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cheaper = json!({"variants": [{"sku": "PRICEY-0", "title": "V0", "price": {"amount": 800, "currency": "USD"}}]});
    app.patch(
        &format!("/api/v1/products/{product_id}"),
        Some(&admin),
        &cheaper,
    )
    .await
    .expect(200);
    for _ in 0..100 {
        let body = app.get(&format!("/api/v1/carts/{cart}"), None).await.body;
        if body["items"][0]["unit_price"]["amount"] == 800 {
            assert_eq!(body["subtotal"]["amount"], 1600);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the cart kept the old price");
}

/// Creates a published product; returns its variant ids in order.
async fn product(app: &TestApp, slug: &str, variants: &[(i64, i64)]) -> Vec<String> {
    let admin = app.admin_token().await;
    let body = json!({
        "slug": slug, "name": format!("Product {slug}"), "status": "published",
        "variants": variants.iter().enumerate().map(|(i, (price, stock))| json!({
            "sku": format!("{slug}-{i}").to_uppercase(), "title": format!("V{i}"),
            "price": {"amount": price, "currency": "USD"}, "stock": stock
        })).collect::<Vec<_>>(),
    });
    let reply = app.post("/api/v1/products", Some(&admin), &body).await;
    reply.expect(201);
    reply.body["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn guest_cart(app: &TestApp) -> String {
    let reply = app.post("/api/v1/carts", None, &json!({})).await;
    reply.expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn add(
    app: &TestApp,
    cart: &str,
    token: Option<&str>,
    variant: &str,
    quantity: i64,
) -> testkit::Reply {
    app.post(
        &format!("/api/v1/carts/{cart}/items"),
        token,
        &json!({"variant_id": variant, "quantity": quantity}),
    )
    .await
}

async fn guest_carts_are_reached_by_their_id_alone(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post("/api/v1/carts", None, &json!({"currency": "eur"}))
        .await;
    reply.expect(201);
    let cart = &reply.body;
    assert_eq!(cart["customer_id"], Value::Null);
    assert_eq!(cart["currency"], "EUR");
    assert_eq!(cart["items"], json!([]));
    assert_eq!(cart["subtotal"], json!({"amount": 0, "currency": "EUR"}));
    assert_eq!(cart["item_count"], 0);
    let id = cart["id"].as_str().unwrap();
    app.get(&format!("/api/v1/carts/{id}"), None)
        .await
        .expect(200);
    let stranger = app.register("stranger").await;
    app.get(&format!("/api/v1/carts/{id}"), Some(&stranger.access))
        .await
        .expect(200);
    // Without a body at all, the default currency.
    let bare = app
        .client
        .post(format!("{}/api/v1/carts", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 201);
    app.get(&format!("/api/v1/carts/{}", uuid::Uuid::new_v4()), None)
        .await
        .problem(404);
    app.post("/api/v1/carts", None, &json!({"currency": "XYZ"}))
        .await
        .problem(422);
}

async fn a_customer_has_one_active_cart_that_others_cannot_see(backend: Backend) {
    let app = spawn(backend).await;
    let ada = app.register("ada").await;
    let first = app
        .post("/api/v1/carts", Some(&ada.access), &json!({}))
        .await;
    first.expect(201);
    let again = app
        .post("/api/v1/carts", Some(&ada.access), &json!({}))
        .await;
    again.expect(200);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(first.body["customer_id"], ada.id.as_str());
    let mine = app.get("/api/v1/carts/mine", Some(&ada.access)).await;
    assert_eq!(mine.body["id"], first.body["id"]);
    let id = first.body["id"].as_str().unwrap();
    let bob = app.register("bob").await;
    app.get(&format!("/api/v1/carts/{id}"), Some(&bob.access))
        .await
        .problem(404);
    app.get(&format!("/api/v1/carts/{id}"), None)
        .await
        .problem(404);
    let variant = product(&app, "thing", &[(500, 5)]).await;
    add(&app, id, Some(&bob.access), &variant[0], 1)
        .await
        .problem(404);
    app.get("/api/v1/carts/mine", None).await.problem(401);
    // A first visit to /mine opens the cart.
    let carol = app.register("carol").await;
    app.get("/api/v1/carts/mine", Some(&carol.access))
        .await
        .expect(200);
}

async fn lines_are_priced_by_the_catalog_and_totals_add_up(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "tea", &[(1250, 10), (990, 10)]).await;
    let cart = guest_cart(&app).await;
    add(&app, &cart, None, &variants[0], 2).await.expect(200);
    let reply = add(&app, &cart, None, &variants[1], 1).await;
    reply.expect(200);
    let again = add(&app, &cart, None, &variants[0], 1).await;
    again.expect(200);
    let body = &again.body;
    assert_eq!(
        body["items"].as_array().unwrap().len(),
        2,
        "the same variant adds to its line"
    );
    let line = &body["items"][0];
    assert_eq!(line["quantity"], 3);
    assert_eq!(
        line["unit_price"],
        json!({"amount": 1250, "currency": "USD"})
    );
    assert_eq!(line["line_total"]["amount"], 3750);
    assert_eq!(line["product_name"], "Product tea");
    assert_eq!(line["sku"], "TEA-0");
    assert_eq!(body["subtotal"]["amount"], 3750 + 990);
    assert_eq!(body["total"], body["subtotal"]);
    assert_eq!(body["item_count"], 4);
    // The client cannot name a price.
    let sneaky = app
        .post(
            &format!("/api/v1/carts/{cart}/items"),
            None,
            &json!({"variant_id": variants[0], "quantity": 1, "unit_price": 1}),
        )
        .await;
    sneaky.problem(422);
    // A cart's currency is fixed when it is opened: a variant priced in
    // another one is refused, also while the cart is empty.
    let euro = app
        .post("/api/v1/carts", None, &json!({"currency": "EUR"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = add(&app, &euro, None, &variants[0], 1).await;
    let problem = refused.problem(409);
    assert_eq!(problem["code"], "CRT-0004");
    assert_eq!(problem["cart_currency"], "EUR");
    let still = app.get(&format!("/api/v1/carts/{euro}"), None).await;
    assert_eq!(still.body["currency"], "EUR");
    assert_eq!(still.body["items"], json!([]));
    let admin = app.admin_token().await;
    let eur = app
        .post("/api/v1/products", Some(&admin), &json!({"slug": "croissant", "name": "Croissant",
            "variants": [{"sku": "CRO-1", "title": "One", "price": {"amount": 180, "currency": "EUR"}, "stock": 5}]}))
        .await;
    let eur_variant = eur.body["variants"][0]["id"].as_str().unwrap().to_owned();
    let taken = add(&app, &euro, None, &eur_variant, 1).await;
    taken.expect(200);
    assert_eq!(taken.body["currency"], "EUR");
    assert_eq!(taken.body["subtotal"]["amount"], 180);
    let mismatch = add(&app, &cart, None, &eur_variant, 1).await;
    assert_eq!(mismatch.problem(409)["code"], "CRT-0004");
}

async fn quantities_and_stock_are_checked(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "rare", &[(100, 3)]).await;
    let cart = guest_cart(&app).await;
    for bad in [0, 100, -1] {
        add(&app, &cart, None, &variants[0], bad).await.problem(422);
    }
    let short = add(&app, &cart, None, &variants[0], 4).await;
    let body = short.problem(409);
    assert_eq!(body["code"], "CRT-0002");
    assert_eq!(body["available"], 3);
    add(&app, &cart, None, &variants[0], 3).await.expect(200);
    add(&app, &cart, None, &variants[0], 1).await.problem(409);
    add(&app, &cart, None, &uuid::Uuid::now_v7().to_string(), 1)
        .await
        .problem(404);
    let big = product(&app, "plenty", &[(100, 1000)]).await;
    add(&app, &cart, None, &big[0], 99).await.expect(200);
    add(&app, &cart, None, &big[0], 1).await.problem(422);
    // Unpublished products cannot be bought.
    let admin = app.admin_token().await;
    let hidden = app
        .post("/api/v1/products", Some(&admin), &json!({"slug": "hidden", "name": "Hidden", "status": "draft",
            "variants": [{"sku": "HID-1", "title": "One", "price": {"amount": 100, "currency": "USD"}, "stock": 5}]}))
        .await;
    let hidden_variant = hidden.body["variants"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    add(&app, &cart, None, &hidden_variant, 1)
        .await
        .problem(404);
}

async fn lines_change_and_go(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "soap", &[(300, 5), (400, 5)]).await;
    let cart = guest_cart(&app).await;
    add(&app, &cart, None, &variants[0], 1).await;
    let reply = add(&app, &cart, None, &variants[1], 1).await;
    let first = reply.body["items"][0]["id"].as_str().unwrap().to_owned();
    let second = reply.body["items"][1]["id"].as_str().unwrap().to_owned();
    let changed = app
        .patch(
            &format!("/api/v1/carts/{cart}/items/{first}"),
            None,
            &json!({"quantity": 5}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["items"][0]["quantity"], 5);
    app.patch(
        &format!("/api/v1/carts/{cart}/items/{first}"),
        None,
        &json!({"quantity": 6}),
    )
    .await
    .problem(409);
    let removed = app
        .patch(
            &format!("/api/v1/carts/{cart}/items/{first}"),
            None,
            &json!({"quantity": 0}),
        )
        .await;
    assert_eq!(removed.body["items"].as_array().unwrap().len(), 1);
    let deleted = app
        .delete(&format!("/api/v1/carts/{cart}/items/{second}"), None)
        .await;
    deleted.expect(200);
    assert_eq!(deleted.body["items"], json!([]));
    app.delete(&format!("/api/v1/carts/{cart}/items/{second}"), None)
        .await
        .problem(404);
    app.patch(
        &format!("/api/v1/carts/{cart}/items/{second}"),
        None,
        &json!({"quantity": 1}),
    )
    .await
    .problem(404);
}

async fn a_guest_cart_is_claimed_into_the_customers_cart(backend: Backend) {
    let app = spawn(backend).await;
    let variants = product(&app, "bean", &[(700, 200), (800, 200)]).await;
    let customer = app.register("claimer").await;
    let own = app
        .post("/api/v1/carts", Some(&customer.access), &json!({}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    add(&app, &own, Some(&customer.access), &variants[0], 60)
        .await
        .expect(200);
    let guest = guest_cart(&app).await;
    add(&app, &guest, None, &variants[0], 60).await.expect(200);
    add(&app, &guest, None, &variants[1], 2).await.expect(200);

    app.post(&format!("/api/v1/carts/{guest}/claim"), None, &json!({}))
        .await
        .problem(401);
    let merged = app
        .post(
            &format!("/api/v1/carts/{guest}/claim"),
            Some(&customer.access),
            &json!({}),
        )
        .await;
    merged.expect(200);
    assert_eq!(merged.body["id"], own.as_str());
    let quantities: Vec<i64> = merged.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(quantities, [99, 2], "quantities add up, capped at 99");
    app.get(&format!("/api/v1/carts/{guest}"), None)
        .await
        .problem(404);
    app.post(
        &format!("/api/v1/carts/{guest}/claim"),
        Some(&customer.access),
        &json!({}),
    )
    .await
    .problem(404);
}

async fn a_cart_holds_at_most_one_hundred_lines(backend: Backend) {
    let app = spawn(backend).await;
    let many = product(&app, "many", &vec![(100, 10); 100]).await;
    let extra = product(&app, "extra", &[(100, 10)]).await;
    let cart = guest_cart(&app).await;
    for variant in &many {
        add(&app, &cart, None, variant, 1).await.expect(200);
    }
    let full = add(&app, &cart, None, &extra[0], 1).await;
    full.problem(422);
    // An existing line can still grow.
    add(&app, &cart, None, &many[0], 1).await.expect(200);
}

async fn a_cart_in_another_process_reads_the_catalog_over_http(backend: Backend) {
    let shop = spawn(backend).await;
    let variants = product(&shop, "remote", &[(2500, 4)]).await;
    let jwks = format!("{}/.well-known/jwks.json", shop.base);
    let base = shop.base.clone();
    let pricing = base.clone();
    let carts = spawn_targets(backend, &[Target::Cart], |cfg| {
        cfg.cart.catalog_url = Some(base);
        cfg.cart.pricing_url = Some(pricing.clone());
        cfg.auth.jwks_url = Some(jwks.clone());
    })
    .await;
    let cart = guest_cart(&carts).await;
    let reply = add(&carts, &cart, None, &variants[0], 2).await;
    reply.expect(200);
    assert_eq!(reply.body["subtotal"]["amount"], 5000);
    add(&carts, &cart, None, &variants[0], 3).await.problem(409);
    // A customer's token from the users service works here through the JWKS.
    let customer = shop.register("remote").await;
    carts
        .get("/api/v1/carts/mine", Some(&customer.access))
        .await
        .expect(200);

    // The catalog is down: a clear 503, not a hang or a 500.
    let dead = spawn_targets(backend, &[Target::Cart], |cfg| {
        cfg.cart.catalog_url = Some("http://127.0.0.1:9".into());
        cfg.cart.pricing_url = Some(pricing);
        cfg.auth.jwks_url = Some(jwks);
    })
    .await;
    let cart = guest_cart(&dead).await;
    let reply = add(&dead, &cart, None, &variants[0], 1).await;
    assert_eq!(reply.problem(503)["code"], "CRT-0003");
    assert!(reply.header("retry-after").is_some());
}

/// Two of three registered catalogs are dead (one refuses connections, one
/// accepts them and never answers, as a hung process does): every add
/// still succeeds, read from the live one, and the hung one is tried once,
/// then ejected, instead of being chosen in turn.
async fn a_cart_passes_over_catalog_instances_that_cannot_be_reached(backend: Backend) {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    let shop = spawn(backend).await;
    let variants = product(&shop, "failover", &[(300, 50)]).await;
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hung_url = format!("http://{}", hung.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hung.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    let etcd_server = testkit::etcd::EtcdServer::start().await;
    let etcd = platform::discovery::Etcd::new(&etcd_server.url()).unwrap();
    for (instance, url) in [
        ("dead", "http://127.0.0.1:9".to_owned()),
        ("hung", hung_url),
        ("live", shop.base.clone()),
    ] {
        let key = platform::discovery::server_key("catalog", instance);
        etcd.put(&key, &url, None).await.unwrap();
    }
    let jwks = format!("{}/.well-known/jwks.json", shop.base);
    let etcd_url = etcd_server.url();
    let pricing = shop.base.clone();
    let carts = spawn_targets(backend, &[Target::Cart], |cfg| {
        cfg.discovery.etcd_url = Some(etcd_url);
        cfg.cart.pricing_url = Some(pricing);
        cfg.auth.jwks_url = Some(jwks);
    })
    .await;
    let cart = guest_cart(&carts).await;
    for _ in 0..12 {
        add(&carts, &cart, None, &variants[0], 1).await.expect(200);
    }
    let line = carts.get(&format!("/api/v1/carts/{cart}"), None).await;
    assert_eq!(line.body["items"][0]["quantity"], 12);
    // Chosen in turn, the hung one would have had a third of 12 reads.
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "the hung instance was not ejected after its first failure"
    );
}

async fn idle_carts_expire_after_the_configured_days(backend: Backend) {
    use std::{sync::Arc, time::Duration};
    let app = spawn(backend).await;
    let variants = product(&app, "idle", &[(100, 10)]).await;
    let stale = guest_cart(&app).await;
    add(&app, &stale, None, &variants[0], 1).await.expect(200);
    let fresh = guest_cart(&app).await;
    let db = app.database("cart").await;
    let days_ago = platform::time::now_millis() - 31 * 86_400_000;
    sqlx::query("update cart set updated_at = $1 where cart_id = $2")
        .bind(days_ago)
        .bind(&stale)
        .execute(db.pool())
        .await
        .unwrap();
    let endpoints = platform::discovery::Endpoints::new("catalog", None, Some(app.base.clone()));
    let catalog = Arc::new(
        contracts::clients::catalog::HttpCatalog::new(Arc::new(endpoints), Duration::from_secs(2))
            .unwrap(),
    );
    let endpoints = platform::discovery::Endpoints::new("pricing", None, Some(app.base.clone()));
    let pricing = Arc::new(
        contracts::clients::pricing::HttpPricing::new(Arc::new(endpoints), Duration::from_secs(2))
            .unwrap(),
    );
    let service = cart::CartService::new(db, app.config.cart.clone(), catalog, pricing);
    assert_eq!(service.expire_idle().await.unwrap(), 1);
    app.get(&format!("/api/v1/carts/{stale}"), None)
        .await
        .problem(404);
    app.get(&format!("/api/v1/carts/{fresh}"), None)
        .await
        .expect(200);
}
