//! The monitoring an operator runs unchanged (deploy/prometheus,
//! deploy/alertmanager), checked by the real tools: Prometheus's own
//! validation and rule unit tests (`promtool test rules`, one test or more
//! for every alert), Alertmanager's configuration check, and a live run of
//! both servers against the shop.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

mod common;

use std::{
    path::PathBuf,
    process::Command,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, routing::post};
use common::{
    compose,
    processes::{Env, Stack},
    wait_routes,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::{
    Backend, Target, TestApp,
    etcd::EtcdServer,
    fakes::paypal::{FakePaypal, WEBHOOK_ID},
    nats::NatsServer,
    prometheus::{Alertmanager, Prometheus},
    shop::{address, cart_with, pay, payment_of, place, product, wait_status},
    spawn_with,
    traefik::Traefik,
};

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn tool(variable: &str) -> String {
    testkit::installed(variable, "Prometheus and Alertmanager")
}

/// Runs a tool in `deploy/prometheus`, failing with its output.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .current_dir(deploy().join("prometheus"))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_prometheus_configuration_and_rules_are_valid_and_every_alert_passes_its_tests() {
    let promtool = tool("MERCATO_TEST_PROMTOOL");
    run(
        &promtool,
        &[
            "check",
            "config",
            "--syntax-only",
            "prometheus.yml",
            "prometheus-swarm.yml",
        ],
    );
    run(
        &promtool,
        &["check", "rules", "rules/slo.yml", "rules/alerts.yml"],
    );
    run(&promtool, &["test", "rules", "tests/alerts.test.yml"]);
}

#[test]
fn every_alert_has_a_rule_test_that_expects_it_to_fire() {
    let rules = ["slo.yml", "alerts.yml"]
        .map(|f| std::fs::read_to_string(deploy().join("prometheus/rules").join(f)).unwrap())
        .join("\n");
    let tests = std::fs::read_to_string(deploy().join("prometheus/tests/alerts.test.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for alert in alerts {
        // A test that expects alerts of this name (not only that it is quiet).
        let fires = tests.split("alertname: ").skip(1).any(|rest| {
            rest.starts_with(alert)
                && rest
                    .split("alertname: ")
                    .next()
                    .is_some_and(|block| block.contains("exp_alerts:"))
        });
        assert!(fires, "no promtool test expects {alert} to fire");
    }
}

#[test]
fn the_alertmanager_configuration_is_valid() {
    let amtool = tool("MERCATO_TEST_AMTOOL");
    let config = deploy().join("alertmanager/alertmanager.yml");
    run(&amtool, &["check-config", config.to_str().unwrap()]);
}

/// What Alertmanager's webhooks delivered: (receiver path, notification).
type Delivered = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver on loopback standing in for the pager and the
/// ticket system: it keeps every notification Alertmanager posts.
async fn receiver() -> (String, Delivered) {
    let delivered: Delivered = Arc::default();
    let keep = |path: &'static str| {
        let delivered = delivered.clone();
        post(move |Json(body): Json<Value>| async move {
            delivered.lock().unwrap().push((path.to_owned(), body));
        })
    };
    let router = Router::new()
        .route("/page", keep("page"))
        .route("/ticket", keep("ticket"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, delivered)
}

/// Whether a notification of `status` about the checkout availability
/// page has arrived at `path`.
fn notified(delivered: &Delivered, path: &str, status: &str) -> bool {
    delivered.lock().unwrap().iter().any(|(p, body)| {
        p == path
            && body["alerts"].as_array().is_some_and(|alerts| {
                alerts.iter().any(|a| {
                    a["status"] == status
                        && a["labels"]["alertname"] == "ErrorBudgetBurn"
                        && a["labels"]["slo"] == "checkout"
                        && a["labels"]["sli"] == "availability"
                })
            })
    })
}

async fn wait_notified(delivered: &Delivered, path: &str, status: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !notified(delivered, path, status) {
        assert!(
            std::time::Instant::now() < deadline,
            "no {status} notification at /{path}: {:?}",
            delivered.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const PAYPAL_ID: &str = "AaMonitoringClient";
const PAYPAL_SECRET: &str = "EMonitoringSecret";

/// The shipped Alertmanager configuration with its webhooks pointed at a
/// receiver here and its waits shortened, running.
async fn alertmanager() -> (Alertmanager, Delivered) {
    let (hooks, delivered) = receiver().await;
    let shipped = std::fs::read_to_string(deploy().join("alertmanager/alertmanager.yml")).unwrap();
    let am_config = shipped
        .replace("http://alert-receiver:9095", &hooks)
        .replace("group_wait: 30s", "group_wait: 1s")
        .replace("group_wait: 10s", "group_wait: 1s")
        .replace("group_interval: 5m", "group_interval: 1s");
    assert_ne!(am_config, shipped);
    (Alertmanager::start(&am_config).await, delivered)
}

/// Prometheus with the shipped rules, scraping `jobs` of `(job name,
/// host:port targets)` every second and alerting `alertmanager`.
async fn prometheus(jobs: &[(&str, Vec<String>)], alertmanager: &Alertmanager) -> Prometheus {
    let rules = deploy().join("prometheus/rules");
    let scrape: Vec<String> = jobs
        .iter()
        .map(|(job, targets)| {
            let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
            format!(
                "{{job_name: {job}, static_configs: [{{targets: [{}]}}]}}",
                targets.join(", ")
            )
        })
        .collect();
    Prometheus::start(&format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
         rule_files: ['{}/*.yml']\n\
         alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{}']}}]}}]}}\n\
         scrape_configs: [{}]\n",
        rules.display(),
        alertmanager.address,
        scrape.join(", ")
    ))
    .await
}

/// The settings that give the shop PayPal (the fake) beside the test
/// provider, as `(MERCATO__ variable, value)`.
fn paypal_settings(paypal: &FakePaypal) -> Vec<(String, String)> {
    [
        ("MERCATO__PAYMENTS__PAYPAL_BASE_URL", paypal.base.as_str()),
        ("MERCATO__PAYMENTS__PAYPAL_CLIENT_ID", PAYPAL_ID),
        ("MERCATO__PAYMENTS__PAYPAL_CLIENT_SECRET", PAYPAL_SECRET),
        ("MERCATO__PAYMENTS__PAYPAL_WEBHOOK_ID", WEBHOOK_ID),
        (
            "MERCATO__PAYMENTS__PAYPAL_RETURN_URL",
            "https://shop.example/return?order={order_id}",
        ),
        ("MERCATO__PAYMENTS__PROVIDER_ATTEMPTS", "1"),
        ("MERCATO__ORDERS__PAYMENT_PROVIDERS", "test,paypal"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into()
}

/// A real Prometheus scrapes the all-in-one shop and evaluates the shipped
/// rules; a real Alertmanager routes with the shipped configuration (its
/// webhooks pointed here, its waits shortened). Checkouts succeed, then
/// PayPal stops answering and confirmations fail: the checkout availability
/// page reaches the pager, its ticket is inhibited; PayPal recovers, the
/// shop serves on, and the page resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_outage_pages_through_alertmanager_and_resolves_after_recovery() {
    let paypal = FakePaypal::start(PAYPAL_ID, PAYPAL_SECRET, 3600).await;
    let paypal_base = paypal.base.clone();
    let app = spawn_with(Backend::Sqlite, move |cfg| {
        cfg.payments.paypal_base_url = paypal_base;
        cfg.payments.paypal_client_id = Some(PAYPAL_ID.into());
        cfg.payments.paypal_client_secret = Some(SecretString::from(PAYPAL_SECRET));
        cfg.payments.paypal_webhook_id = Some(WEBHOOK_ID.into());
        cfg.payments.paypal_return_url = "https://shop.example/return?order={order_id}".into();
        cfg.payments.provider_attempts = 1;
        cfg.orders.payment_providers = vec!["test".into(), "paypal".into()];
    })
    .await;
    let (alertmanager, delivered) = alertmanager().await;
    let target = app.base.trim_start_matches("http://").to_owned();
    let prometheus = prometheus(&[("mercato", vec![target])], &alertmanager).await;
    // Scraping has begun (discovery applies targets after a few seconds).
    prometheus
        .wait_for("up == 1", Duration::from_secs(30))
        .await;
    outage_pages_and_resolves(&app, &paypal, &prometheus, &delivered).await;
}

/// The same in the seven-process mode on PostgreSQL and NATS behind
/// Traefik: one job per service as in `deploy/prometheus/prometheus.yml`,
/// plus the gateway's own metrics, and the journey through the gateway.
/// (It found the gateway taking the only payments instance out of
/// rotation after three 502 answers during the PayPal outage: Traefik's
/// passive health check, now gone.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_seven_process_mode_a_payment_outage_pages_and_resolves() {
    let paypal = FakePaypal::start(PAYPAL_ID, PAYPAL_SECRET, 3600).await;
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
        extra: paypal_settings(&paypal),
    };
    let stack = Stack::start(&env).await;
    wait_routes(&traefik.base, Duration::from_secs(30)).await;
    let local = testkit::spawn_targets(Backend::Postgres, &[Target::Users], |_| {}).await;
    let app = local.pointed_at(&traefik.base);

    let (alertmanager, delivered) = alertmanager().await;
    let mut jobs: Vec<(&str, Vec<String>)> = stack
        .children
        .iter()
        .map(|(target, _, base)| {
            (
                target.name(),
                vec![base.trim_start_matches("http://").to_owned()],
            )
        })
        .collect();
    jobs.push((
        "gateway",
        vec![traefik.base.trim_start_matches("http://").to_owned()],
    ));
    let prometheus = prometheus(&jobs, &alertmanager).await;
    prometheus
        .wait_for("count(up == 1) == 8", Duration::from_secs(30))
        .await;
    outage_pages_and_resolves(&app, &paypal, &prometheus, &delivered).await;
    // The gateway's own series are there for its dashboard panels.
    assert!(
        !prometheus
            .query("traefik_service_requests_total")
            .await
            .is_empty()
    );
    stack.stop();
}

/// Checkouts succeed, PayPal fails until the checkout availability page
/// reaches the pager (its ticket inhibited), PayPal recovers and the page
/// resolves; then every dashboard query runs on what was scraped.
async fn outage_pages_and_resolves(
    app: &TestApp,
    paypal: &FakePaypal,
    prometheus: &Prometheus,
    delivered: &Delivered,
) {
    // Shoppers keep coming: a client retrying its checkout with its key
    // gets its 201 again, four times a second, for the whole test (a
    // counter's first value is invisible to rate(): only increases count).
    let variants = product(app, "monitored", &[(1500, 1000)]).await;
    let cart = cart_with(app, None, &[(&variants[0], 1)]).await;
    let retried = json!({"cart_id": cart, "email": "buyer@example.com", "shipping_address": address(), "payment_provider": "test"});
    app.post_with(
        "/api/v1/orders",
        None,
        &[("Idempotency-Key", "retried")],
        &retried,
    )
    .await
    .expect(201);
    let steady = {
        let (client, url, body) = (
            app.client.clone(),
            format!("{}/api/v1/orders", app.base),
            retried.clone(),
        );
        tokio::spawn(async move {
            loop {
                let _ = client
                    .post(&url)
                    .header("Idempotency-Key", "retried")
                    .json(&body)
                    .send()
                    .await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    // A healthy shop: test-card checkouts, and PayPal orders approved by
    // their buyers, waiting to be captured.
    for n in 0..5 {
        let cart = cart_with(app, None, &[(&variants[0], 1)]).await;
        let placed = place(
            app,
            None,
            &cart,
            Some("buyer@example.com"),
            Some(&format!("healthy-{n}")),
        )
        .await;
        let order = placed.expect(201).body["id"].as_str().unwrap().to_owned();
        wait_status(app, &order, None, "awaiting_payment").await;
        pay(app, &order, None, "4242424242424242").await.expect(200);
    }
    let mut approved = Vec::new();
    for n in 0..3 {
        let cart = cart_with(app, None, &[(&variants[0], 1)]).await;
        let placed = app
            .post_with(
                "/api/v1/orders",
                None,
                &[("Idempotency-Key", &format!("paypal-{n}"))],
                &json!({"cart_id": cart, "email": "buyer@example.com", "shipping_address": address(), "payment_provider": "paypal"}),
            )
            .await;
        let order = placed.expect(201).body["id"].as_str().unwrap().to_owned();
        wait_status(app, &order, None, "awaiting_payment").await;
        let payment = loop {
            let payment = payment_of(app, &order, None).await;
            if payment["approval_url"].is_string() {
                break payment;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let reference = payment["approval_url"]
            .as_str()
            .unwrap()
            .split("token=")
            .nth(1)
            .unwrap()
            .to_owned();
        paypal.approve(&reference, false).await;
        approved.push(payment["id"].as_str().unwrap().to_owned());
    }
    // The rules evaluate against the shop's own metrics: a healthy
    // checkout burns nothing.
    let ratio = prometheus
        .wait_for(
            // NaN (no rate yet) fails the comparison.
            "slo:sli_error:ratio_rate5m{slo=\"checkout\"} >= 0",
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(ratio[0]["value"][1], "0", "{ratio:?}");

    // PayPal goes down: every capture fails, and buyers try again for a
    // while (spread over scrapes: a counter's first value is invisible to
    // rate()).
    paypal.fail_next(1000, 503);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        for payment in &approved {
            let answer = app
                .post(
                    &format!("/api/v1/payments/{payment}/confirm"),
                    None,
                    &json!({}),
                )
                .await;
            answer.problem(502);
        }
    }
    wait_notified(delivered, "page", "firing").await;
    // The ticket for the same budget is inhibited by its page.
    assert!(
        !notified(delivered, "ticket", "firing"),
        "{:?}",
        delivered.lock().unwrap()
    );

    // PayPal is back and the shop serves on (clients retrying their
    // checkouts get their answers): the burn falls under the page's rate.
    paypal.fail_next(0, 503);
    for payment in &approved {
        app.post(
            &format!("/api/v1/payments/{payment}/confirm"),
            None,
            &json!({}),
        )
        .await
        .expect(200);
    }
    for _ in 0..2000 {
        app.post_with(
            "/api/v1/orders",
            None,
            &[("Idempotency-Key", "retried")],
            &retried,
        )
        .await
        .expect(201);
    }
    wait_notified(delivered, "page", "resolved").await;
    every_dashboard_query_runs_and_the_key_panels_show_the_journey(prometheus).await;
    steady.abort();
}

/// Metrics that exist only once their event has happened (none of which
/// this journey causes), so a dashboard may read them before they exist.
const ONLY_AFTER_THEIR_EVENT: &[&str] = &[
    "eventbus_consumer_lag",           // NATS consumers only
    "eventbus_dead_lettered_total",    // a delivery given up
    "eventbus_redelivered_total",      // a handler failure
    "eventbus_consume_failed_total",   // a handler failure
    "catalog_stockouts_total",         // a reservation refused
    "orders_cancelled_total",          // a cancellation
    "payments_failed_total",           // a failed payment
    "payments_refunded_total",         // a refund
    "payments_webhooks_refused_total", // a forged webhook
    "payments_orphan_charges_total",   // money for a failed payment
    "payments_provider_retries_total", // a provider answered 429/5xx twice
    "users_registered_total",          // a sign-up
];

/// Panels an operator opens first: after the journey they must show it.
const KEY_PANELS: &[(&str, &str)] = &[
    ("platform", "Requests per second by service"),
    ("platform", "p99 latency by route"),
    ("platform", "Journey availability (5 m)"),
    ("platform", "Instances up"),
    ("checkout", "Orders per minute"),
    ("checkout", "Cart additions per minute"),
    ("checkout", "Longest wait for a payment"),
    ("checkout", "Placed to paid"),
    ("checkout", "Saga step latency (p95) by step"),
    ("events", "Events published per second"),
    ("events", "Events consumed per second"),
    ("events", "Outbox lag"),
    ("payments", "Payments per minute"),
    ("payments", "Provider calls by outcome"),
    ("infrastructure", "Resident memory by instance"),
    ("infrastructure", "Database connections by service"),
    ("infrastructure", "Database write waits by service"),
    ("business", "Orders paid per minute"),
    ("business", "Revenue per minute by currency (minor units)"),
];

/// Every panel of every shipped dashboard reads the provisioned
/// datasource, names only metrics the shop exports (or one of
/// [`ONLY_AFTER_THEIR_EVENT`]), and its query runs on the real Prometheus;
/// the [`KEY_PANELS`] return data.
async fn every_dashboard_query_runs_and_the_key_panels_show_the_journey(prometheus: &Prometheus) {
    let datasource =
        std::fs::read_to_string(deploy().join("grafana/provisioning/datasources/prometheus.yml"))
            .unwrap();
    assert!(datasource.contains("uid: prometheus"), "{datasource}");
    let names: Value = reqwest::get(format!("{}/api/v1/label/__name__/values", prometheus.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exported: Vec<&str> = names["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut checked = 0;
    let mut shown = Vec::new();
    for entry in std::fs::read_dir(deploy().join("grafana/dashboards")).unwrap() {
        let path = entry.unwrap().path();
        let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        for panel in dashboard["panels"].as_array().unwrap() {
            let title = panel["title"].as_str().unwrap();
            assert_eq!(panel["datasource"]["uid"], "prometheus", "{name}: {title}");
            let mut any = false;
            for target in panel["targets"].as_array().unwrap() {
                assert_eq!(target["datasource"]["uid"], "prometheus", "{name}: {title}");
                let expr = target["expr"].as_str().unwrap();
                for metric in metric_names(expr) {
                    assert!(
                        exported.contains(&metric.as_str())
                            || metric.starts_with("slo:")
                            || ONLY_AFTER_THEIR_EVENT.contains(&metric.as_str()),
                        "{name}: {title}: {metric} is not a metric the shop exports"
                    );
                }
                let query = expr.replace("$__rate_interval", "1m");
                any |= !prometheus.query(&query).await.is_empty();
                checked += 1;
            }
            if any {
                shown.push((name.clone(), title.to_owned()));
            }
        }
    }
    assert!(checked >= 30, "{checked} queries");
    for (dashboard, title) in KEY_PANELS {
        assert!(
            shown.iter().any(|(d, t)| d == dashboard && t == title),
            "{dashboard}: \"{title}\" shows nothing after the journey"
        );
    }
}

/// The metric names a PromQL expression reads (not its functions, label
/// names or grouping).
fn metric_names(expr: &str) -> Vec<String> {
    const NOT_METRICS: &[&str] = &[
        "sum",
        "max",
        "min",
        "rate",
        "increase",
        "histogram_quantile",
        "by",
        "vector",
        "or",
        "and",
    ];
    let mut out = Vec::new();
    // Drop label matchers and grouping lists: they hold label names.
    let mut cleaned = String::new();
    let mut depth = 0;
    for c in expr.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => cleaned.push(c),
        }
    }
    let cleaned = cleaned
        .split("by (")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_owned()
            } else {
                part.split_once(')')
                    .map_or(String::new(), |(_, r)| r.to_owned())
            }
        })
        .collect::<String>();
    for token in cleaned.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
        if token.is_empty()
            || token.starts_with(|c: char| c.is_ascii_digit())
            || token.starts_with("__")
            || NOT_METRICS.contains(&token)
        {
            continue;
        }
        if token.contains('_') || token.contains(':') || token == "up" {
            out.push(token.to_owned());
        }
    }
    out
}

/// The Compose `monitoring` profile runs pinned official images with the
/// shipped configuration mounted where each program reads it. (The images
/// cannot be pulled here; the files they get are the ones tested above.)
#[test]
fn the_compose_monitoring_profile_mounts_the_shipped_configuration() {
    let config = compose::resolved_config("monitoring");
    compose::assert_mounts(
        &config,
        "prometheus",
        "monitoring",
        &[
            (
                "prometheus/prometheus.yml",
                "/etc/prometheus/prometheus.yml",
            ),
            ("prometheus/rules", "/etc/prometheus/rules"),
        ],
    );
    compose::assert_mounts(
        &config,
        "alertmanager",
        "monitoring",
        &[(
            "alertmanager/alertmanager.yml",
            "/etc/alertmanager/alertmanager.yml",
        )],
    );
    compose::assert_mounts(
        &config,
        "grafana",
        "monitoring",
        &[
            ("grafana/provisioning", "/etc/grafana/provisioning"),
            ("grafana/dashboards", "/var/lib/grafana/dashboards"),
        ],
    );
}
