//! A tax provider that fails or is too slow fails the quote with a clear
//! 503 (never a total without its tax), on both engines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failed step fails the test loudly"
)]

use std::{sync::Arc, time::Duration};

use axum::response::IntoResponse;
use contracts::clients::{
    ClientError,
    pricing::{PricingClient, QuoteLine, QuoteRequest},
};
use futures::future::BoxFuture;
use platform::db::Db;
use pricing::{
    PricingService,
    client::InProcessPricing,
    domain::rules::TaxRate,
    error::PricingError,
    tax::{RateTable, TaxProvider},
};
use testkit::{Backend, on_both_backends};

on_both_backends!(a_failing_or_slow_tax_provider_is_a_503_never_a_wrong_total);

struct Down;

impl TaxProvider for Down {
    fn rates<'a>(&'a self, _country: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<TaxRate>>> {
        Box::pin(async { anyhow::bail!("connection refused") })
    }
}

struct Slow;

impl TaxProvider for Slow {
    fn rates<'a>(&'a self, _country: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<TaxRate>>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(Vec::new())
        })
    }
}

fn request(country: Option<&str>) -> QuoteRequest {
    QuoteRequest {
        currency: "EUR".into(),
        lines: vec![QuoteLine {
            quantity: 2,
            unit_price: 1250,
        }],
        country: country.map(Into::into),
        ..QuoteRequest::default()
    }
}

async fn a_failing_or_slow_tax_provider_is_a_503_never_a_wrong_total(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = testkit::plumbing_config(backend, dir.path()).database;
    let db = Db::connect("pricing", None, &cfg).await.unwrap();
    db.migrate(&pricing::migrator(db.backend())).await.unwrap();
    let timeout = Duration::from_millis(200);

    // The built-in table answers: no rate for DE, no tax.
    let table = PricingService::new(db.clone(), Arc::new(RateTable(db.clone())), timeout);
    let quote = table.quote(&request(Some("DE"))).await.unwrap();
    assert_eq!((quote.tax_total, quote.total), (0, 2500));

    for provider in [Arc::new(Down) as Arc<dyn TaxProvider>, Arc::new(Slow)] {
        let service = Arc::new(PricingService::new(db.clone(), provider, timeout));
        let started = std::time::Instant::now();
        let error = service.quote(&request(Some("DE"))).await.unwrap_err();
        assert!(
            matches!(error, PricingError::TaxUnavailable(_)),
            "{error:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "waited past the timeout"
        );
        let response = error.into_response();
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        // Cart and orders see pricing unavailable (their own 503s).
        let client = InProcessPricing(service.clone());
        let asked = client.quote(&request(Some("DE"))).await;
        assert!(matches!(asked, Err(ClientError::Unavailable { .. })));
        // Without a destination no tax is asked for: a cart still prices.
        let quote = service.quote(&request(None)).await.unwrap();
        assert_eq!(quote.total, 2500);
    }
}
