//! The catalog's use cases: validate with the domain, persist through the
//! store in one transaction with its outbox events, answer.

use std::{collections::HashSet, sync::Arc};

use anyhow::Context as _;
use contracts::events::{
    catalog::{ProductUpdated, VariantPrice},
    inventory::{InventoryReleased, InventoryReservationFailed, InventoryReserved},
    orders::{OrderCancelled, OrderPaid, OrderPlaced},
};
use eventbus::{Envelope, inbox, outbox::Outbox};
use platform::{
    FieldError,
    db::{self, Db},
    time::now_millis,
};
use uuid::Uuid;

use crate::{
    config::CatalogConfig,
    domain::{
        product::{self, Product, ProductInput, Status},
        slug, stock,
    },
    error::{CatalogError, Result},
    reads::ReadCache,
    store::{
        categories::{self, Category},
        inventory::{self, Levels},
        products::{self, After, Filter, Sort},
    },
};

mod assortment;
pub(crate) mod changes;
mod levels;
mod reservations;
mod tree;

/// The inbox name of the catalog's subscription to order events.
pub const ORDER_CONSUMER: &str = "catalog-orders";

/// The outcome of reserving an order's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Every line is held (until the reservation time runs out).
    Reserved,
    /// Nothing is held: this SKU had too little.
    Refused {
        /// The first SKU that could not be held.
        sku: String,
    },
}

/// The catalog service.
pub struct CatalogService {
    db: Db,
    cfg: CatalogConfig,
    outbox: Arc<Outbox>,
    reads: ReadCache,
}

/// The topic of the database change notices catalog replicas exchange.
const CHANGED: &str = "catalog_changed";

impl std::fmt::Debug for CatalogService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogService").finish_non_exhaustive()
    }
}

impl CatalogService {
    /// The service over a migrated database.
    pub fn new(db: Db, cfg: CatalogConfig) -> Self {
        Self {
            outbox: Outbox::new(db.clone(), crate::NAME),
            reads: ReadCache::new(cfg.read_cache_entries),
            db,
            cfg,
        }
    }

    /// Rendered public reads, valid until the catalog changes.
    pub fn reads(&self) -> &ReadCache {
        &self.reads
    }

    /// Commits a catalog write and its events. Every cached read dies: here
    /// at once, in other replicas when the database's notice reaches them
    /// (sent only if the transaction commits).
    async fn commit_change(&self, mut tx: db::WriteTx) -> Result<()> {
        self.db.notify(&mut tx, CHANGED).await?;
        let committed = self.outbox.commit(tx).await;
        // Also after a failed commit: its outcome is unknown.
        self.reads.invalidate();
        Ok(committed?)
    }

    /// The outbox its events go through.
    pub fn outbox(&self) -> Arc<Outbox> {
        self.outbox.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &CatalogConfig {
        &self.cfg
    }
}
