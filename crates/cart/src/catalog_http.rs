//! The catalog over HTTP (`GET /api/v1/variants/{id}`), for a cart running
//! without the catalog in its process.

use std::time::Duration;

use contracts::clients::{
    ClientError,
    catalog::{CatalogClient, VariantInfo},
};
use futures::future::BoxFuture;
use uuid::Uuid;

/// Reads variants from the catalog's API, with a timeout.
pub struct HttpCatalog {
    endpoints: std::sync::Arc<platform::discovery::Endpoints>,
    client: reqwest::Client,
}

impl HttpCatalog {
    /// A client of the catalog instances `endpoints` finds (etcd, or a fixed URL).
    pub fn new(
        endpoints: std::sync::Arc<platform::discovery::Endpoints>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self { endpoints, client })
    }
}

fn unavailable(detail: impl ToString) -> ClientError {
    ClientError::Unavailable {
        service: "catalog",
        detail: detail.to_string(),
    }
}

impl CatalogClient for HttpCatalog {
    fn variant(&self, variant_id: Uuid) -> BoxFuture<'_, Result<Option<VariantInfo>, ClientError>> {
        Box::pin(async move {
            let base = self
                .endpoints
                .pick()
                .await
                .ok_or_else(|| unavailable("no catalog instance is registered"))?;
            let mut request = self
                .client
                .get(format!("{base}/api/v1/variants/{variant_id}"));
            if let Some(traceparent) = platform::telemetry::outgoing_traceparent() {
                request = request.header("traceparent", traceparent);
            }
            let response = request.send().await.map_err(unavailable)?;
            match response.status() {
                s if s.is_success() => response.json().await.map(Some).map_err(unavailable),
                reqwest::StatusCode::NOT_FOUND => Ok(None),
                s => Err(unavailable(format!("answered {s}"))),
            }
        })
    }
}
