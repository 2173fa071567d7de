use serde_json::json;
use testkit::{Backend, on_both_backends, spawn};

use crate::{create, product};

on_both_backends!(
    stock_is_adjusted_with_a_ledger_and_never_goes_negative,
    inventory_is_for_admins
);

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
