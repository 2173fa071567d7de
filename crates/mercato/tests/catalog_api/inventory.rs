use std::sync::Arc;

use serde_json::json;
use testkit::{Backend, burst, count_status, on_both_backends, spawn};

use crate::{create, product};

on_both_backends!(
    stock_is_adjusted_with_a_ledger_and_never_goes_negative,
    inventory_is_for_admins,
    parallel_adjustments_of_one_sku_all_count_and_stop_exactly_at_zero,
);

async fn parallel_adjustments_of_one_sku_all_count_and_stop_exactly_at_zero(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        &product("nails", "Nails", &[("NAIL-1", 10, 30)]),
    )
    .await;
    // 50 withdrawals of one unit from 30, beside 10 deliveries of 2.
    let replies = burst(60, |i| {
        let (app, admin) = (app.clone(), admin.clone());
        async move {
            let delta = if i % 6 == 5 { 2 } else { -1 };
            app.post(
                "/api/v1/inventory/NAIL-1/adjustments",
                Some(&admin),
                &json!({"delta": delta, "reason": format!("burst {i}")}),
            )
            .await
        }
    })
    .await;
    let deliveries = replies
        .iter()
        .enumerate()
        .filter(|(i, r)| i % 6 == 5 && r.status == 200)
        .count();
    assert_eq!(deliveries, 10, "a delivery is never refused");
    let withdrawn = count_status(&replies, 200) - deliveries;
    assert_eq!(count_status(&replies, 409), 50 - withdrawn);
    let levels = app.get("/api/v1/inventory/NAIL-1", Some(&admin)).await;
    let on_hand = levels.body["on_hand"].as_i64().unwrap();
    assert_eq!(
        on_hand,
        30 + 20 - i64::try_from(withdrawn).unwrap(),
        "every accepted adjustment counted once"
    );
    assert!(on_hand >= 0);
    // Withdrawals are refused only when nothing is left at that moment:
    // at least the 30 units at the start went, and at most all 50.
    assert!((30..=50).contains(&withdrawn), "{withdrawn} withdrawn");
}

async fn stock_is_adjusted_with_a_ledger_and_never_goes_negative(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        &product("rope", "Rope", &[("ROPE-10", 1000, 5)]),
    )
    .await;
    let levels = app.get("/api/v1/inventory/ROPE-10", Some(&admin)).await;
    levels.expect(200);
    assert_eq!(
        (
            levels.body["on_hand"].as_i64(),
            levels.body["reserved"].as_i64(),
            levels.body["available"].as_i64()
        ),
        (Some(5), Some(0), Some(5))
    );

    let added = app
        .post(
            "/api/v1/inventory/ROPE-10/adjustments",
            Some(&admin),
            &json!({"delta": 7, "reason": "delivery 42"}),
        )
        .await;
    added.expect(200);
    assert_eq!(added.body["on_hand"], 12);
    let removed = app
        .post(
            "/api/v1/inventory/ROPE-10/adjustments",
            Some(&admin),
            &json!({"delta": -2, "reason": "damaged"}),
        )
        .await;
    assert_eq!(removed.body["available"], 10);
    let ledger = &removed.body["recent_adjustments"];
    assert_eq!(ledger[0]["delta"], -2);
    assert_eq!(ledger[0]["reason"], "damaged");
    assert_eq!(ledger[1]["delta"], 7);
    assert!(ledger[0]["actor"].is_string() && ledger[0]["at"].is_string());

    let too_much = app
        .post(
            "/api/v1/inventory/ROPE-10/adjustments",
            Some(&admin),
            &json!({"delta": -11, "reason": "oops"}),
        )
        .await;
    assert_eq!(too_much.problem(409)["code"], "CAT-0005");
    assert_eq!(
        app.get("/api/v1/inventory/ROPE-10", Some(&admin))
            .await
            .body["on_hand"],
        10
    );
    for bad in [
        json!({"delta": 0, "reason": "x"}),
        json!({"delta": 1, "reason": " "}),
        json!({"delta": 1}),
    ] {
        app.post("/api/v1/inventory/ROPE-10/adjustments", Some(&admin), &bad)
            .await
            .problem(422);
    }
    app.get("/api/v1/inventory/NOPE", Some(&admin))
        .await
        .problem(404);
    app.post(
        "/api/v1/inventory/NOPE/adjustments",
        Some(&admin),
        &json!({"delta": 1, "reason": "x"}),
    )
    .await
    .problem(404);
    // The product page shows the new availability.
    assert_eq!(
        app.get("/api/v1/products/rope", None).await.body["variants"][0]["available"],
        10
    );
}

async fn inventory_is_for_admins(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("nosy").await;
    app.get("/api/v1/inventory/ANY", Some(&customer.access))
        .await
        .problem(403);
    app.get("/api/v1/inventory/ANY", None).await.problem(401);
}
