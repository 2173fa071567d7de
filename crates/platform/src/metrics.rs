//! Prometheus metrics: RED per route, process metrics, and whatever the
//! services record through the `metrics` facade.

use std::{sync::OnceLock, time::Duration};

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static PROCESS: OnceLock<metrics_process::Collector> = OnceLock::new();

/// Latency buckets in seconds: fine below 10 ms, where Mercato should live.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Placed-to-paid buckets in seconds: a card payment takes seconds, a
/// redirect to PayPal minutes, a reservation lasts 30 minutes.
const CHECKOUT_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

/// Installs the Prometheus recorder once per process (several apps in one
/// test process share it). Returns false if another recorder was installed.
pub fn install() -> bool {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("db_write_wait_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("orders_saga_step_latency_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("orders_checkout_duration_seconds".into()),
                    CHECKOUT_BUCKETS,
                )
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            // Histogram samples queue until drained; a scrape drains them,
            // but without a scraper they would grow for ever.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            let collector = PROCESS.get_or_init(metrics_process::Collector::default);
            collector.describe();
            describe();
            Some(handle)
        })
        .is_some()
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests served, by route and status."
    );
    metrics::describe_counter!(
        "http_request_errors_total",
        "HTTP requests answered with a 5xx status, by route."
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time from request to response, by route."
    );
}

/// Records one served request.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    if status >= 500 {
        metrics::counter!("http_request_errors_total", &labels[..2]).increment(1);
    }
    metrics::histogram!("http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn render() -> Response {
    if let Some(collector) = PROCESS.get() {
        collector.collect();
    }
    let body = HANDLE
        .get()
        .and_then(Option::as_ref)
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
