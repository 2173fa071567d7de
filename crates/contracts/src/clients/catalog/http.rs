//! The catalog over HTTP (`GET /api/v1/variants/{id}`), for a cart running
//! without the catalog in its process.

use std::time::Duration;

use super::{CatalogClient, ClientError, VariantInfo};
use crate::ids::VariantId;
use futures::future::BoxFuture;
use platform::discovery::{Peer, PeerError, Retry};

/// Reads variants from the catalog's API, within a timeout, from another
/// instance when one cannot be reached.
pub struct HttpCatalog {
    peer: Peer,
}

impl HttpCatalog {
    /// A client of the catalog instances `endpoints` finds (etcd, or a fixed URL).
    pub fn new(
        endpoints: std::sync::Arc<platform::discovery::Endpoints>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            peer: Peer::new(endpoints, timeout)?,
        })
    }
}

fn unavailable(detail: impl ToString) -> ClientError {
    ClientError::Unavailable {
        service: "catalog",
        detail: detail.to_string(),
    }
}

impl CatalogClient for HttpCatalog {
    fn variant(
        &self,
        variant_id: VariantId,
    ) -> BoxFuture<'_, Result<Option<VariantInfo>, ClientError>> {
        Box::pin(async move {
            let response = self
                .peer
                .send(Retry::Idempotent, |http, base| {
                    http.get(format!("{base}/api/v1/variants/{variant_id}"))
                })
                .await
                .map_err(unavailable)?;
            match response.status() {
                s if s.is_success() => response.json().await.map(Some).map_err(unavailable),
                reqwest::StatusCode::NOT_FOUND => Ok(None),
                _ => Err(unavailable(PeerError::answered(response).await)),
            }
        })
    }
}
