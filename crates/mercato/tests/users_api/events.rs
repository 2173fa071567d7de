//! The users service's events through the backbone, on both buses.

use std::{sync::Arc, time::Duration};

use eventbus::Subscription;
use serde_json::json;
use testkit::{
    Backend, TestApp,
    events::{Recorder, ScratchDb},
    nats::NatsServer,
    on_both_backends, spawn, spawn_with,
};

on_both_backends!(
    users_events_reach_a_consumer_once_in_process,
    users_events_reach_a_consumer_once_over_nats,
    a_nats_outage_keeps_the_service_up_and_delivers_afterwards,
);

const USER_EVENTS: [&str; 3] = [
    "user.registered",
    "user.password_reset_requested",
    "user.email_verification_requested",
];

async fn consumer(app: &TestApp, backend: Backend) -> (Arc<Recorder>, ScratchDb) {
    let scratch = ScratchDb::new(backend).await;
    let recorder = Arc::new(Recorder::new(scratch.db.clone(), "test-users"));
    app.bus
        .subscribe(
            Subscription::new("test", "users", &USER_EVENTS),
            recorder.clone(),
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    (recorder, scratch)
}

async fn produce_all_three(app: &TestApp) -> String {
    let customer = app.register("events").await;
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": customer.email}),
    )
    .await
    .expect(202);
    app.post(
        "/api/v1/users/me/email-verification",
        Some(&customer.access),
        &json!({}),
    )
    .await
    .expect(202);
    customer.id
}

async fn assert_each_once(recorder: &Recorder, user_id: &str) {
    let applied = recorder.wait_for(3, Duration::from_secs(30)).await;
    let mut types: Vec<&str> = applied.iter().map(|a| a.event_type.as_str()).collect();
    types.sort_unstable();
    let mut expected = USER_EVENTS.to_vec();
    expected.sort_unstable();
    assert_eq!(types, expected, "each event exactly once");
    assert!(applied.iter().all(|a| a.key == user_id));
}

async fn users_events_reach_a_consumer_once_in_process(backend: Backend) {
    let app = spawn(backend).await;
    let (recorder, _db) = consumer(&app, backend).await;
    let user_id = produce_all_three(&app).await;
    assert_each_once(&recorder, &user_id).await;
}

async fn users_events_reach_a_consumer_once_over_nats(backend: Backend) {
    let nats = NatsServer::start();
    let app = spawn_with(backend, |cfg| cfg.eventbus.nats_url = Some(nats.url())).await;
    let (recorder, _db) = consumer(&app, backend).await;
    let user_id = produce_all_three(&app).await;
    assert_each_once(&recorder, &user_id).await;
    let ready = app.get("/health/ready", None).await;
    ready.expect(200);
    assert!(ready.text.contains("eventbus.nats"));
    let metrics = app.get("/metrics", None).await.text;
    for name in [
        "eventbus_published_total{bus=\"nats\",type=\"user.registered\"}",
        "eventbus_consumed_total{subscription=\"test-users\",type=\"user.registered\"}",
        "eventbus_outbox_lag_seconds{service=\"users\"}",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
}

async fn a_nats_outage_keeps_the_service_up_and_delivers_afterwards(backend: Backend) {
    let mut nats = NatsServer::start();
    let app = spawn_with(backend, |cfg| cfg.eventbus.nats_url = Some(nats.url())).await;
    let (recorder, _db) = consumer(&app, backend).await;

    nats.stop();
    let down_since = std::time::Instant::now();
    // Degraded, not unready: the instance still serves (events wait in the
    // outbox), so a gateway acting on readiness keeps sending it requests.
    let mut ready = app.get("/health/ready", None).await;
    for _ in 0..100 {
        if ready.body["status"] == "degraded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        ready = app.get("/health/ready", None).await;
    }
    ready.expect(200);
    assert_eq!(ready.body["status"], "degraded");
    assert!(
        ready.body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "eventbus.nats" && c["status"] == "down")
    );

    // Customers keep registering while the bus is away.
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.register("outage").await.id);
    }
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(down_since.elapsed())).await;
    assert_eq!(
        app.get("/health/ready", None).await.body["status"],
        "degraded"
    );

    nats.resume();
    let applied = recorder.wait_for(3, Duration::from_secs(60)).await;
    let mut got: Vec<&str> = applied.iter().map(|a| a.key.as_str()).collect();
    got.sort_unstable();
    ids.sort_unstable();
    assert_eq!(
        got,
        ids.iter().map(String::as_str).collect::<Vec<_>>(),
        "every event once"
    );
    assert!(applied.iter().all(|a| a.event_type == "user.registered"));
    let mut ready = app.get("/health/ready", None).await;
    for _ in 0..100 {
        if ready.body["status"] == "up" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        ready = app.get("/health/ready", None).await;
    }
    ready.expect(200);
    assert_eq!(ready.body["status"], "up");
}
