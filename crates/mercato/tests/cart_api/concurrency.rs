//! Real parallel requests at one cart; the end state is checked exactly and
//! no answer may be a 5xx. (Before the cart's writes took the cart's row
//! lock and added units in one statement, PostgreSQL lost updates and
//! answered 500 on the unique line key.)

use std::sync::Arc;

use serde_json::{Value, json};
use testkit::{Backend, TestApp, burst, count_status as count, on_both_backends, spawn};

use super::{add, guest_cart, product};

on_both_backends!(
    parallel_adds_of_one_variant_make_one_line_holding_every_unit,
    parallel_adds_stop_exactly_at_the_line_and_stock_limits,
    parallel_adds_of_new_variants_stop_exactly_at_one_hundred_lines,
    parallel_changes_and_removals_of_one_line_leave_a_consistent_cart,
    a_guest_cart_claimed_many_times_at_once_is_merged_once,
);

async fn cart_now(app: &TestApp, cart: &str, token: Option<&str>) -> Value {
    let reply = app.get(&format!("/api/v1/carts/{cart}"), token).await;
    reply.expect(200);
    reply.body.clone()
}

async fn parallel_adds_of_one_variant_make_one_line_holding_every_unit(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let variant = product(&app, "busy", &[(250, 500)]).await.remove(0);
    let cart = guest_cart(&app).await;
    let replies = burst(10, |_| {
        let (app, cart, variant) = (app.clone(), cart.clone(), variant.clone());
        async move { add(&app, &cart, None, &variant, 1).await }
    })
    .await;
    assert_eq!(count(&replies, 200), 10, "every add succeeds");
    let body = cart_now(&app, &cart, None).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one line: {body}");
    assert_eq!(items[0]["quantity"], 10);
    assert_eq!(body["item_count"], 10);
    assert_eq!(body["subtotal"]["amount"], 2500);
}

async fn parallel_adds_stop_exactly_at_the_line_and_stock_limits(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let variants = product(&app, "limits", &[(100, 1000), (100, 7)]).await;
    let cart = guest_cart(&app).await;
    let adds = |n: usize, variant: &String, quantity: i64| {
        let (app, cart, variant) = (app.clone(), cart.clone(), variant.clone());
        burst(n, move |_| {
            let (app, cart, variant) = (app.clone(), cart.clone(), variant.clone());
            async move { add(&app, &cart, None, &variant, quantity).await }
        })
    };
    // 30 adds of 5 units: 19 fit under 99 units a line (95), 11 are refused.
    let replies = adds(30, &variants[0], 5).await;
    assert_eq!(count(&replies, 200), 19);
    assert_eq!(count(&replies, 422), 11);
    // 20 adds of 1 unit of a variant with 7 in stock: 7 fit, 13 are 409.
    let replies = adds(20, &variants[1], 1).await;
    assert_eq!(count(&replies, 200), 7);
    assert_eq!(count(&replies, 409), 13);
    let body = cart_now(&app, &cart, None).await;
    let quantities: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(quantities, [95, 7]);
    assert_eq!(body["item_count"], 102);
}

async fn parallel_adds_of_new_variants_stop_exactly_at_one_hundred_lines(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    // A product holds at most 100 variants.
    let mut variants = product(&app, "wide", &vec![(100, 10); 100]).await;
    variants.extend(product(&app, "wider", &[(100, 10); 10]).await);
    let cart = guest_cart(&app).await;
    for variant in &variants[..95] {
        add(&app, &cart, None, variant, 1).await.expect(200);
    }
    let fresh: Arc<Vec<String>> = Arc::new(variants[95..].to_vec());
    let replies = burst(fresh.len(), |i| {
        let (app, cart, fresh) = (app.clone(), cart.clone(), fresh.clone());
        async move { add(&app, &cart, None, &fresh[i], 1).await }
    })
    .await;
    assert_eq!(count(&replies, 200), 5);
    assert_eq!(count(&replies, 422), 10);
    let body = cart_now(&app, &cart, None).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 100);
    assert_eq!(body["item_count"], 100);
}

async fn parallel_changes_and_removals_of_one_line_leave_a_consistent_cart(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let variants = product(&app, "fickle", &[(300, 100), (400, 100)]).await;
    let cart = guest_cart(&app).await;
    add(&app, &cart, None, &variants[0], 1).await.expect(200);
    let kept = add(&app, &cart, None, &variants[1], 2).await;
    let line = kept.body["items"][0]["id"].as_str().unwrap().to_owned();
    // Twenty set the first line's quantity (to 1..=20) while one removes it.
    let replies = burst(21, |i| {
        let (app, cart, line) = (app.clone(), cart.clone(), line.clone());
        async move {
            let path = format!("/api/v1/carts/{cart}/items/{line}");
            if i == 10 {
                app.delete(&path, None).await
            } else {
                app.patch(&path, None, &json!({"quantity": i + 1})).await
            }
        }
    })
    .await;
    assert!(
        replies
            .iter()
            .all(|r| [200, 404].contains(&r.status.as_u16())),
        "only 200 or 404"
    );
    assert_eq!(replies[10].status, 200, "the removal succeeds");
    let body = cart_now(&app, &cart, None).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the line stays removed: {body}");
    assert_eq!(items[0]["quantity"], 2);
    assert_eq!(body["subtotal"]["amount"], 800);
}

async fn a_guest_cart_claimed_many_times_at_once_is_merged_once(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let variants = product(&app, "claimed", &[(500, 100), (700, 100)]).await;
    let customer = app.register("racer").await;
    let mine = app
        .post("/api/v1/carts", Some(&customer.access), &json!({}))
        .await;
    let mine = mine.body["id"].as_str().unwrap().to_owned();
    add(&app, &mine, Some(&customer.access), &variants[0], 1)
        .await
        .expect(200);
    let guest = guest_cart(&app).await;
    add(&app, &guest, None, &variants[0], 2).await.expect(200);
    add(&app, &guest, None, &variants[1], 3).await.expect(200);
    let token = customer.access.clone();
    let replies = burst(10, |_| {
        let (app, guest, token) = (app.clone(), guest.clone(), token.clone());
        async move {
            app.post(
                &format!("/api/v1/carts/{guest}/claim"),
                Some(&token),
                &json!({}),
            )
            .await
        }
    })
    .await;
    assert_eq!(count(&replies, 200), 1, "one claim merges");
    assert_eq!(count(&replies, 404), 9, "the others find no guest cart");
    let body = cart_now(&app, &mine, Some(&customer.access)).await;
    let quantities: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(quantities, [3, 3], "merged exactly once: {body}");
    app.get(&format!("/api/v1/carts/{guest}"), None)
        .await
        .problem(404);
}
