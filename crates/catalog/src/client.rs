//! The in-process implementation of `contracts::clients::catalog`, for the
//! all-in-one server (other processes use the HTTP one against
//! `GET /api/v1/variants/{id}`).

use std::sync::Arc;

use contracts::clients::{
    ClientError,
    catalog::{CatalogClient, VariantInfo},
};
use contracts::ids::VariantId;
use futures::future::BoxFuture;

use crate::service::CatalogService;

/// Reads variants straight from the catalog service.
pub struct InProcessCatalog(pub Arc<CatalogService>);

impl CatalogClient for InProcessCatalog {
    fn variant(
        &self,
        variant_id: VariantId,
    ) -> BoxFuture<'_, Result<Option<VariantInfo>, ClientError>> {
        Box::pin(async move {
            self.0
                .variant(variant_id.uuid())
                .await
                .map_err(|e| ClientError::Unavailable {
                    service: "catalog",
                    detail: e.to_string(),
                })
        })
    }
}
