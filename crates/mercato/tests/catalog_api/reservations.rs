//! Reservations against the service and a real database (the order events
//! that drive them arrive with the orders service).

use std::sync::Arc;

use catalog::{CatalogService, service::Reservation};
use serde_json::json;
use testkit::{Backend, on_both_backends};
use uuid::Uuid;

use crate::product;

on_both_backends!(
    two_hundred_concurrent_reservations_of_fifty_units_sell_exactly_fifty,
    an_order_reserves_all_lines_or_none_and_repeats_change_nothing,
    release_and_commit_settle_a_reservation_once,
);

async fn service(backend: Backend) -> (Arc<CatalogService>, testkit::TestApp) {
    let app = testkit::spawn(backend).await;
    let db = app.database("catalog").await;
    (
        Arc::new(CatalogService::new(db, app.config.catalog.clone())),
        app,
    )
}

async fn stock(app: &testkit::TestApp, admin: &str, sku: &str) -> (i64, i64, i64) {
    let body = app
        .get(&format!("/api/v1/inventory/{sku}"), Some(admin))
        .await
        .body;
    (
        body["on_hand"].as_i64().unwrap(),
        body["reserved"].as_i64().unwrap(),
        body["available"].as_i64().unwrap(),
    )
}

async fn two_hundred_concurrent_reservations_of_fifty_units_sell_exactly_fifty(backend: Backend) {
    let (service, app) = service(backend).await;
    let admin = app.admin_token().await;
    crate::create(
        &app,
        &admin,
        &product("hot-item", "Hot item", &[("HOT-1", 1000, 50)]),
    )
    .await;
    let attempts: Vec<_> = (0..200)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                service
                    .reserve(Uuid::now_v7(), &[("HOT-1".to_owned(), 1)])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut reserved = 0;
    for attempt in attempts {
        if attempt.await.unwrap() == Reservation::Reserved {
            reserved += 1;
        }
    }
    assert_eq!(reserved, 50);
    assert_eq!(stock(&app, &admin, "HOT-1").await, (50, 50, 0));
}

async fn an_order_reserves_all_lines_or_none_and_repeats_change_nothing(backend: Backend) {
    let (service, app) = service(backend).await;
    let admin = app.admin_token().await;
    crate::create(
        &app,
        &admin,
        &product("set", "Set", &[("SET-A", 100, 5), ("SET-B", 100, 1)]),
    )
    .await;
    let refused = service
        .reserve(Uuid::now_v7(), &[("SET-A".into(), 2), ("SET-B".into(), 2)])
        .await
        .unwrap();
    assert_eq!(
        refused,
        Reservation::Refused {
            sku: "SET-B".into()
        }
    );
    assert_eq!(
        stock(&app, &admin, "SET-A").await,
        (5, 0, 5),
        "nothing held when one line fails"
    );

    let order = Uuid::now_v7();
    let lines = [
        ("SET-A".to_owned(), 2),
        ("SET-B".to_owned(), 1),
        ("SET-A".to_owned(), 1),
    ];
    assert_eq!(
        service.reserve(order, &lines).await.unwrap(),
        Reservation::Reserved
    );
    assert_eq!(
        service.reserve(order, &lines).await.unwrap(),
        Reservation::Reserved,
        "a repeat answers the same"
    );
    assert_eq!(
        stock(&app, &admin, "SET-A").await,
        (5, 3, 2),
        "repeated SKUs add up, once"
    );
    assert_eq!(stock(&app, &admin, "SET-B").await, (1, 1, 0));
    let unknown = service
        .reserve(Uuid::now_v7(), &[("NOPE".into(), 1)])
        .await
        .unwrap();
    assert_eq!(unknown, Reservation::Refused { sku: "NOPE".into() });
    // Reserved units are not available to an adjustment either.
    let reply = app
        .post(
            "/api/v1/inventory/SET-B/adjustments",
            Some(&admin),
            &json!({"delta": -1, "reason": "lost"}),
        )
        .await;
    reply.problem(409);
}

async fn release_and_commit_settle_a_reservation_once(backend: Backend) {
    let (service, app) = service(backend).await;
    let admin = app.admin_token().await;
    crate::create(&app, &admin, &product("cup", "Cup", &[("CUP-1", 100, 10)])).await;
    let cancelled = Uuid::now_v7();
    let paid = Uuid::now_v7();
    service
        .reserve(cancelled, &[("CUP-1".into(), 3)])
        .await
        .unwrap();
    service.reserve(paid, &[("CUP-1".into(), 4)]).await.unwrap();
    assert_eq!(stock(&app, &admin, "CUP-1").await, (10, 7, 3));
    assert_eq!(service.release(cancelled).await.unwrap(), 1);
    assert_eq!(
        service.release(cancelled).await.unwrap(),
        0,
        "releasing twice changes nothing"
    );
    assert_eq!(service.commit(paid).await.unwrap(), 1);
    assert_eq!(service.commit(paid).await.unwrap(), 0);
    assert_eq!(
        service.release(paid).await.unwrap(),
        0,
        "a sale is not released"
    );
    assert_eq!(
        stock(&app, &admin, "CUP-1").await,
        (6, 0, 6),
        "sold units leave on hand and reserved"
    );
    let ledger =
        app.get("/api/v1/inventory/CUP-1", Some(&admin)).await.body["recent_adjustments"].clone();
    assert_eq!(ledger[0]["delta"], -4);
    assert_eq!(ledger[0]["actor"], format!("order:{paid}"));
}
