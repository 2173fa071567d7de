//! Order events drive reservations (published here as the orders service
//! will publish them).

use std::time::Duration;

use catalog::CatalogService;
use contracts::events::orders::{OrderCancelled, OrderLine, OrderPaid, OrderPlaced};
use eventbus::Envelope;
use serde_json::Value;
use sqlx::Row as _;
use testkit::{Backend, TestApp, nats::NatsServer, on_both_backends, spawn, spawn_with};
use uuid::Uuid;

use crate::{create, product};

on_both_backends!(
    order_placed_reserves_once_and_order_paid_sells,
    an_order_short_of_stock_fails_and_holds_nothing,
    order_cancelled_releases_and_announces_it,
    unpaid_reservations_expire,
    order_events_arrive_over_nats,
);

fn placed(order_id: Uuid, lines: &[(&str, i64)]) -> Envelope {
    let event = OrderPlaced {
        order_id,
        customer_id: None,
        email: "guest@example.com".into(),
        lines: lines
            .iter()
            .map(|(sku, q)| OrderLine {
                variant_id: Uuid::now_v7(),
                sku: (*sku).into(),
                quantity: *q,
                unit_price: 100,
                ..Default::default()
            })
            .collect(),
        total: 100,
        currency: "USD".into(),
        ..Default::default()
    };
    Envelope::new("orders", order_id, &event).unwrap()
}

async fn announced(app: &TestApp, event_type: &str, order_id: Uuid) -> Vec<Value> {
    let db = app.database("catalog").await;
    let rows =
        sqlx::query("select envelope from outbox where event_type = $1 and aggregate_id = $2")
            .bind(event_type)
            .bind(order_id.to_string())
            .fetch_all(db.pool())
            .await
            .unwrap();
    rows.iter()
        .map(|r| serde_json::from_str(&r.get::<String, _>("envelope")).unwrap())
        .collect()
}

async fn levels(app: &TestApp, sku: &str) -> (i64, i64) {
    let admin = app.admin_token().await;
    let body = app
        .get(&format!("/api/v1/inventory/{sku}"), Some(&admin))
        .await
        .body;
    (
        body["on_hand"].as_i64().unwrap(),
        body["reserved"].as_i64().unwrap(),
    )
}

async fn order_placed_reserves_once_and_order_paid_sells(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        &product("widget", "Widget", &[("WID-1", 100, 5)]),
    )
    .await;
    let order = Uuid::now_v7();
    let event = placed(order, &[("WID-1", 2)]);
    app.bus.publish(std::slice::from_ref(&event)).await.unwrap();
    assert_eq!(levels(&app, "WID-1").await, (5, 2));
    // Redelivered: nothing changes, nothing is announced twice.
    app.bus.publish(std::slice::from_ref(&event)).await.unwrap();
    assert_eq!(levels(&app, "WID-1").await, (5, 2));
    let reserved = announced(&app, "inventory.reserved", order).await;
    assert_eq!(reserved.len(), 1);
    assert_eq!(reserved[0]["data"]["order_id"], order.to_string());

    let paid = Envelope::new(
        "orders",
        order,
        &OrderPaid {
            order_id: order,
            payment_id: Uuid::now_v7(),
            ..Default::default()
        },
    )
    .unwrap();
    app.bus.publish(&[paid]).await.unwrap();
    assert_eq!(levels(&app, "WID-1").await, (3, 0));
}

async fn an_order_short_of_stock_fails_and_holds_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        &product("duo", "Duo", &[("DUO-A", 100, 5), ("DUO-B", 100, 1)]),
    )
    .await;
    let order = Uuid::now_v7();
    app.bus
        .publish(&[placed(order, &[("DUO-A", 1), ("DUO-B", 2)])])
        .await
        .unwrap();
    assert_eq!(levels(&app, "DUO-A").await, (5, 0));
    assert_eq!(levels(&app, "DUO-B").await, (1, 0));
    let failed = announced(&app, "inventory.reservation_failed", order).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["data"]["sku"], "DUO-B");
    assert_eq!(failed[0]["data"]["reason"], "out_of_stock");
    assert!(
        announced(&app, "inventory.reserved", order)
            .await
            .is_empty()
    );
}

async fn order_cancelled_releases_and_announces_it(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        &product("vase", "Vase", &[("VASE-1", 100, 4)]),
    )
    .await;
    let order = Uuid::now_v7();
    app.bus
        .publish(&[placed(order, &[("VASE-1", 3)])])
        .await
        .unwrap();
    let cancel = OrderCancelled {
        order_id: order,
        reason: "customer_request".into(),
        ..Default::default()
    };
    app.bus
        .publish(&[Envelope::new("orders", order, &cancel).unwrap()])
        .await
        .unwrap();
    assert_eq!(levels(&app, "VASE-1").await, (4, 0));
    let released = announced(&app, "inventory.released", order).await;
    assert_eq!(released.len(), 1);
    assert_eq!(released[0]["data"]["reason"], "cancelled");
}

async fn unpaid_reservations_expire(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        &product("clock", "Clock", &[("CLK-1", 100, 2)]),
    )
    .await;
    let order = Uuid::now_v7();
    app.bus
        .publish(&[placed(order, &[("CLK-1", 2)])])
        .await
        .unwrap();
    let db = app.database("catalog").await;
    let service = CatalogService::new(db.clone(), app.config.catalog.clone());
    assert_eq!(
        service.expire_reservations().await.unwrap(),
        0,
        "not yet due"
    );
    sqlx::query("update reservation set expires_at = 0")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(service.expire_reservations().await.unwrap(), 1);
    assert_eq!(service.expire_reservations().await.unwrap(), 0);
    assert_eq!(levels(&app, "CLK-1").await, (2, 0));
    let released = announced(&app, "inventory.released", order).await;
    assert_eq!(released[0]["data"]["reason"], "expired");
}

async fn order_events_arrive_over_nats(backend: Backend) {
    let nats = NatsServer::start();
    let app = spawn_with(backend, |cfg| cfg.eventbus.nats_url = Some(nats.url())).await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        &product("bolt", "Bolt", &[("BOLT-1", 100, 9)]),
    )
    .await;
    let order = Uuid::now_v7();
    app.bus
        .publish(&[placed(order, &[("BOLT-1", 4)])])
        .await
        .unwrap();
    for _ in 0..200 {
        if levels(&app, "BOLT-1").await == (9, 4) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the reservation never happened: {:?}",
        levels(&app, "BOLT-1").await
    );
}
