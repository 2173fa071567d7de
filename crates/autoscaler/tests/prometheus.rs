//! The autoscaler's signal reader against a real Prometheus (Debian's,
//! installed by scripts/test): a number, no data, and a query that forgot
//! to aggregate its series.

#![allow(clippy::unwrap_used, reason = "a failed step fails the test loudly")]

use autoscaler::{controller::Signals as _, prometheus::Prometheus};

#[tokio::test]
async fn signals_are_read_from_a_real_prometheus() {
    let server = testkit::prometheus::Prometheus::start("global: {scrape_interval: 1s}\n").await;
    let signals = Prometheus::new(&server.base).unwrap();
    assert_eq!(signals.value("vector(42)").await.unwrap(), Some(42.0));
    assert_eq!(
        signals.value("scalar(vector(2.5))").await.unwrap(),
        Some(2.5)
    );
    // A metric nobody exports: no data, not zero.
    assert_eq!(
        signals
            .value("sum(rate(http_requests_total{job=\"nobody\"}[1m]))")
            .await
            .unwrap(),
        None
    );
    let two = "label_replace(vector(1), \"a\", \"x\", \"\", \"\") or label_replace(vector(2), \"a\", \"y\", \"\", \"\")";
    let error = signals.value(two).await.unwrap_err();
    assert!(format!("{error:#}").contains("aggregate"), "{error:#}");
    let error = signals.value("sum(").await.unwrap_err();
    assert!(format!("{error:#}").contains("refused"), "{error:#}");
}
