//! Traces across the seven-process mode: every service exports its spans over
//! OTLP to a real collector (rotel), which forwards them to a real trace
//! store (Arize Phoenix). One checkout, started by a client with its own
//! `traceparent`, is one trace holding spans of every service on its path,
//! the event consumers parented across the bus on the span that emitted the
//! event; the trace id is in the services' log lines too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

mod common;

use std::{
    collections::{BTreeSet, HashMap},
    time::{Duration, Instant},
};

use common::{
    processes::{Env, Stack},
    wait_routes,
};
use serde_json::Value;
use testkit::{
    Backend, Target,
    etcd::EtcdServer,
    nats::NatsServer,
    otel::{Collector, Phoenix},
    shop::{cart_with, pay, place, product, wait_status},
    traefik::Traefik,
};

/// A span attribute, whether the store keeps dotted names flat or nested.
fn attribute<'a>(span: &'a Value, name: &str) -> Option<&'a Value> {
    let attributes = &span["attributes"];
    if let Some(value) = attributes.get(name) {
        return Some(value);
    }
    name.split('.')
        .try_fold(attributes, |node, part| node.get(part))
}

/// The service a span belongs to, told by what it did: the route it served
/// or the subscription it ran for (`None` for inner spans).
fn service_of(span: &Value) -> Option<String> {
    if let Some(subscription) = attribute(span, "subscription").and_then(Value::as_str) {
        return subscription.split('-').next().map(str::to_owned);
    }
    let route = attribute(span, "http.route")?.as_str()?;
    let service = match route.split('/').nth(3)? {
        "auth" | "users" | "me" => "users",
        "products" | "categories" | "inventory" | "variants" => "catalog",
        "carts" => "cart",
        "quotes" | "promotions" | "shipping-options" | "tax-rates" => "pricing",
        "orders" => "orders",
        "payments" => "payments",
        "notifications" => "notifications",
        _ => return None,
    };
    Some(service.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_checkout_is_one_trace_across_every_service_and_the_bus() {
    let phoenix = Phoenix::start().await;
    let collector = Collector::start(&phoenix).await;
    let nats = NatsServer::start();
    let etcd = EtcdServer::start().await;
    let traefik = Traefik::start(&etcd.url()).await;
    let data = tempfile::tempdir().unwrap();
    let prefix = format!("t{}_", uuid::Uuid::new_v4().simple());
    let env = Env {
        data: data.path(),
        prefix: &prefix,
        nats: nats.url(),
        etcd: etcd.url(),
        gateway: traefik.base.clone(),
        extra: vec![
            (
                "MERCATO__TELEMETRY__OTLP_ENDPOINT".into(),
                collector.base.clone(),
            ),
            // Info lines, so that the log check below has request lines.
            ("MERCATO__TELEMETRY__FILTER".into(), "info,sqlx=warn".into()),
        ],
    };
    let stack = Stack::start(&env).await;
    wait_routes(&traefik.base, Duration::from_secs(30)).await;
    let local = testkit::spawn_targets(Backend::Postgres, &[Target::Users], |_| {}).await;
    let gw = local.pointed_at(&traefik.base);

    let variants = product(&gw, "traced", &[(1500, 50)]).await;
    // The checkout, every request in the client's trace.
    let (traced, trace) = gw.in_new_trace();
    let ann = traced.register("trace").await;
    let token = Some(ann.access.as_str());
    let cart = cart_with(&traced, token, &[(&variants[0], 2)]).await;
    let order = place(&traced, token, &cart, None, Some("traced-1")).await;
    order.expect(201);
    let order = order.body["id"].as_str().unwrap().to_owned();
    wait_status(&traced, &order, token, "awaiting_payment").await;
    pay(&traced, &order, token, "4242424242424242")
        .await
        .expect(200);
    wait_status(&traced, &order, token, "paid").await;

    // Spans reach the store in batches: wait for the whole path.
    let wanted: BTreeSet<String> = [
        "users",
        "catalog",
        "pricing",
        "cart",
        "orders",
        "payments",
        "notifications",
    ]
    .map(str::to_owned)
    .into();
    let started = Instant::now();
    let spans = loop {
        let spans: Vec<Value> = phoenix
            .spans()
            .await
            .into_iter()
            .filter(|s| s["context"]["trace_id"] == trace.as_str())
            .collect();
        let seen: BTreeSet<String> = spans.iter().filter_map(service_of).collect();
        let names: BTreeSet<&str> = spans.iter().filter_map(|s| s["name"].as_str()).collect();
        let consumed = spans
            .iter()
            .filter(|s| s["name"] == "process order.placed")
            .count();
        // order.placed reaches catalog, cart, payments and notifications.
        if seen == wanted && consumed >= 4 {
            break spans;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the trace never held every service: {seen:?}, {consumed} consumers of order.placed; spans: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    let by_id: HashMap<&str, &Value> = spans
        .iter()
        .map(|s| (s["context"]["span_id"].as_str().unwrap(), s))
        .collect();
    let ancestors = |span: &Value| -> Vec<String> {
        let mut names = Vec::new();
        let mut parent = span["parent_id"].as_str();
        while let Some(id) = parent {
            let Some(next) = by_id.get(id) else { break };
            names.push(next["name"].as_str().unwrap().to_owned());
            parent = next["parent_id"].as_str();
        }
        names
    };
    // The consumers of order.placed descend from the request that placed it.
    for consumer in spans.iter().filter(|s| s["name"] == "process order.placed") {
        let chain = ancestors(consumer);
        assert!(
            chain.iter().any(|n| n == "POST /api/v1/orders"),
            "{} is not parented on the order's request: {chain:?}",
            attribute(consumer, "subscription").unwrap()
        );
    }
    // Orders called the cart, inside its request, and the cart served it.
    let call = spans
        .iter()
        .find(|s| s["name"] == "call cart")
        .expect("a span for orders' call to the cart");
    assert!(ancestors(call).iter().any(|n| n == "POST /api/v1/orders"));
    assert!(
        spans
            .iter()
            .any(|s| s["parent_id"] == call["context"]["span_id"]
                && service_of(s).as_deref() == Some("cart")),
        "the cart's span is a child of the call"
    );
    // Writes are spans of their own; the outbox relay's publish is one too.
    assert!(spans.iter().any(|s| s["name"] == "db.transaction"));
    assert!(spans.iter().any(|s| s["name"] == "publish order.placed"));

    // The gateway checked every instance's health each second meanwhile:
    // none of those probes is a trace.
    let probes: Vec<Value> = phoenix
        .spans()
        .await
        .into_iter()
        .filter(|s| {
            attribute(s, "http.route")
                .and_then(Value::as_str)
                .is_some_and(|r| r.starts_with("/health") || r == "/metrics")
        })
        .collect();
    assert!(probes.is_empty(), "probes were traced: {probes:?}");

    // The same trace id is in the log lines of the services on the path.
    stack.stop();
    for service in ["users", "cart", "orders", "payments"] {
        let log = std::fs::read_to_string(data.path().join(format!("{service}.log"))).unwrap();
        assert!(
            log.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .any(|l| l["trace.id"] == trace.as_str()),
            "no {service} log line carries the trace id"
        );
    }
}
