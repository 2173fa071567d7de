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
        product::{self, ProductInput, Status},
        slug, stock,
    },
    error::{CatalogError, Result},
    reads::ReadCache,
    store::{
        categories::{self, Category},
        inventory::{self, Levels},
        products::{self, After, Filter, Product, Sort},
    },
};

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

    // --- categories ---

    /// Every category.
    pub async fn categories(&self) -> Result<Vec<Category>> {
        Ok(categories::all(self.db.pool()).await?)
    }

    /// Creates a category.
    pub async fn create_category(
        &self,
        slug: &str,
        name: &str,
        parent_id: Option<Uuid>,
    ) -> Result<Category> {
        let category = Category {
            id: Uuid::now_v7(),
            slug: slug.to_owned(),
            name: name.trim().to_owned(),
            parent_id,
        };
        self.check_category(&category).await?;
        let mut tx = self.db.begin_write().await?;
        categories::insert(&mut *tx, &category, now_millis())
            .await
            .map_err(slug_taken)?;
        self.commit_change(tx).await?;
        Ok(category)
    }

    /// Changes a category (`parent_id: Some(None)` makes it a root).
    pub async fn update_category(
        &self,
        id: Uuid,
        slug: Option<&str>,
        name: Option<&str>,
        parent_id: Option<Option<Uuid>>,
    ) -> Result<Category> {
        let all = self.categories().await?;
        let mut category = all
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or(CatalogError::NotFound("category"))?;
        if let Some(slug) = slug {
            category.slug = slug.to_owned();
        }
        if let Some(name) = name {
            category.name = name.trim().to_owned();
        }
        if let Some(parent) = parent_id {
            category.parent_id = parent;
        }
        self.check_category(&category).await?;
        // A category cannot move under itself or its own descendants.
        if let Some(parent) = category.parent_id
            && descendants(&all, id).contains(&parent)
        {
            return Err(CatalogError::field(
                "parent_id",
                "cannot be the category itself or one of its sub-categories",
            ));
        }
        let mut tx = self.db.begin_write().await?;
        categories::update(&mut *tx, &category, now_millis())
            .await
            .map_err(slug_taken)?;
        self.commit_change(tx).await?;
        Ok(category)
    }

    async fn check_category(&self, category: &Category) -> Result<()> {
        let mut errors = Vec::new();
        if let Err(e) = slug::check(&category.slug) {
            errors.push(FieldError::new("slug", e));
        }
        if category.name.is_empty() || category.name.chars().count() > product::NAME_MAX {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        if let Some(parent) = category.parent_id
            && !self.categories().await?.iter().any(|c| c.id == parent)
        {
            errors.push(FieldError::new("parent_id", "is not a known category"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::Validation(errors))
        }
    }

    /// Deletes a category that has no children and no products.
    pub async fn delete_category(&self, id: Uuid) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        if categories::in_use(&mut *tx, id).await? {
            return Err(CatalogError::CategoryInUse);
        }
        if !categories::delete(&mut *tx, id).await? {
            return Err(CatalogError::NotFound("category"));
        }
        self.commit_change(tx).await?;
        Ok(())
    }

    // --- products ---

    /// Creates a product with its variants and starting stock.
    pub async fn create_product(&self, input: ProductInput) -> Result<Product> {
        self.check_product(&input).await?;
        let id = Uuid::now_v7();
        let variant_ids: Vec<Uuid> = input.variants.iter().map(|_| Uuid::now_v7()).collect();
        let mut tx = self.db.begin_write().await?;
        products::insert(
            &mut tx,
            self.db.backend(),
            id,
            &input,
            &variant_ids,
            now_millis(),
        )
        .await
        .map_err(product_conflict)?;
        self.commit_change(tx).await?;
        self.product(&id.to_string(), true).await
    }

    /// Replaces a product's fields; variants keep their ids by SKU.
    /// Publishes `product.updated` when a price or the status changed.
    pub async fn update_product(
        &self,
        id: Uuid,
        change: impl FnOnce(&mut ProductInput),
    ) -> Result<Product> {
        let before = self.product(&id.to_string(), true).await?;
        let mut input = as_input(&before);
        change(&mut input);
        self.check_product(&input).await?;
        let variant_ids: Vec<Uuid> = input
            .variants
            .iter()
            .map(|v| {
                before
                    .variants
                    .iter()
                    .find(|b| b.sku == v.sku)
                    .map_or_else(Uuid::now_v7, |b| b.id)
            })
            .collect();
        let mut tx = self.db.begin_write().await?;
        products::update(
            &mut tx,
            self.db.backend(),
            id,
            &input,
            &variant_ids,
            now_millis(),
        )
        .await
        .map_err(product_conflict)?;
        let after = products::find(&mut tx, &id.to_string())
            .await?
            .ok_or(CatalogError::NotFound("product"))?;
        if prices_or_status_changed(&before, &after) {
            self.emit_updated(&mut tx, &after).await?;
        }
        self.commit_change(tx).await?;
        Ok(after)
    }

    /// Archives a product (DELETE); it disappears from the public catalog.
    pub async fn archive_product(&self, id: Uuid) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let before = products::find(&mut tx, &id.to_string())
            .await?
            .ok_or(CatalogError::NotFound("product"))?;
        products::set_status(&mut *tx, id, Status::Archived, now_millis()).await?;
        if before.status != Status::Archived {
            let mut after = before;
            after.status = Status::Archived;
            self.emit_updated(&mut tx, &after).await?;
        }
        self.commit_change(tx).await?;
        Ok(())
    }

    async fn emit_updated(&self, tx: &mut sqlx::AnyConnection, product: &Product) -> Result<()> {
        let event = ProductUpdated {
            product_id: product.id,
            status: product.status.as_str().to_owned(),
            currency: product.currency.clone(),
            variants: product
                .variants
                .iter()
                .map(|v| VariantPrice {
                    variant_id: v.id,
                    sku: v.sku.clone(),
                    price: v.price,
                })
                .collect(),
        };
        let envelope =
            Envelope::new(crate::NAME, product.id, &event).context("encoding product.updated")?;
        self.outbox
            .append(
                tx,
                &envelope.with_trace(platform::telemetry::current_trace_id()),
            )
            .await?;
        Ok(())
    }

    async fn check_product(&self, input: &ProductInput) -> Result<()> {
        let mut errors = product::validate(input).err().unwrap_or_default();
        if !input.category_ids.is_empty() {
            let known: HashSet<Uuid> = self.categories().await?.into_iter().map(|c| c.id).collect();
            for (i, id) in input.category_ids.iter().enumerate() {
                if !known.contains(id) {
                    errors.push(FieldError::new(
                        format!("category_ids.{i}"),
                        "is not a known category",
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::Validation(errors))
        }
    }

    /// A purchasable (published) variant with its price and stock.
    pub async fn variant(
        &self,
        variant_id: Uuid,
    ) -> Result<Option<contracts::clients::catalog::VariantInfo>> {
        use sqlx::Row as _;
        let Some(row) = products::variant(self.db.pool(), variant_id).await? else {
            return Ok(None);
        };
        let status: String = row.try_get("status")?;
        if status != Status::Published.as_str() {
            return Ok(None);
        }
        let on_hand: Option<i64> = row.try_get("on_hand")?;
        let reserved: Option<i64> = row.try_get("reserved")?;
        let product_id: String = row.try_get("product_id")?;
        Ok(Some(contracts::clients::catalog::VariantInfo {
            variant_id,
            product_id: Uuid::parse_str(&product_id).context("stored product id")?,
            sku: row.try_get("sku")?,
            product_name: row.try_get("name")?,
            variant_title: row.try_get("title")?,
            price: row.try_get("price")?,
            currency: row.try_get("currency")?,
            available: stock::available(on_hand.unwrap_or(0), reserved.unwrap_or(0)),
        }))
    }

    /// Refreshes the database's planner statistics (after a bulk load).
    pub async fn refresh_statistics(&self) -> Result<()> {
        Ok(crate::store::analyze(&self.db).await?)
    }

    /// How many products exist, in any status.
    pub async fn product_count(&self) -> Result<i64> {
        Ok(products::count(self.db.pool()).await?)
    }

    /// A product by id or slug; unpublished ones only for admins.
    pub async fn product(&self, id_or_slug: &str, admin: bool) -> Result<Product> {
        let mut conn = self.db.pool().acquire().await?;
        products::find(&mut conn, id_or_slug)
            .await?
            .filter(|p| admin || p.status == Status::Published)
            .ok_or(CatalogError::NotFound("product"))
    }

    /// One page of products.
    pub async fn products(
        &self,
        mut filter: Filter,
        category: Option<&str>,
        sort: Sort,
        after: Option<&After>,
        limit: i64,
    ) -> Result<Vec<(Product, After)>> {
        if let Some(category) = category {
            let all = self.categories().await?;
            filter.categories = Some(
                all.iter()
                    .find(|c| c.id.to_string() == category || c.slug == category)
                    .map(|c| descendants(&all, c.id))
                    .unwrap_or_default(),
            );
        }
        let mut conn = self.db.pool().acquire().await?;
        Ok(products::list(&mut conn, self.db.backend(), &filter, sort, after, limit).await?)
    }

    // --- inventory ---

    /// Stock levels of a SKU and its latest ledger entries.
    pub async fn levels(&self, sku: &str) -> Result<(Levels, Vec<inventory::Adjustment>)> {
        let levels = inventory::levels(self.db.pool(), sku)
            .await?
            .ok_or(CatalogError::NotFound("SKU"))?;
        Ok((levels, inventory::ledger(self.db.pool(), sku, 50).await?))
    }

    /// Adjusts on-hand stock, recording who and why.
    pub async fn adjust(&self, sku: &str, delta: i64, reason: &str, actor: &str) -> Result<Levels> {
        if platform::http::schema::is_blank(reason) || reason.chars().count() > 500 {
            return Err(CatalogError::field("reason", "must be 1 to 500 characters"));
        }
        let reason = reason.trim();
        if delta == 0 || delta.abs() > stock::ADJUSTMENT_MAX {
            return Err(CatalogError::field(
                "delta",
                format!(
                    "must be a non-zero number of units, at most {} either way",
                    stock::ADJUSTMENT_MAX
                ),
            ));
        }
        let mut tx = self.db.begin_write().await?;
        let levels = inventory::levels(&mut *tx, sku)
            .await?
            .ok_or(CatalogError::NotFound("SKU"))?;
        stock::check_adjustment(levels.on_hand, levels.reserved, delta)
            .map_err(CatalogError::InsufficientStock)?;
        if !inventory::adjust(&mut tx, sku, delta, reason, actor, now_millis()).await? {
            return Err(CatalogError::InsufficientStock(
                "stock changed meanwhile; try again".into(),
            ));
        }
        let after = inventory::levels(&mut *tx, sku)
            .await?
            .ok_or(CatalogError::NotFound("SKU"))?;
        self.commit_change(tx).await?;
        Ok(after)
    }

    /// Holds every line of an order, or none. Keyed by the order: asking
    /// again answers as the first time and changes nothing.
    pub async fn reserve(&self, order_id: Uuid, lines: &[(String, i64)]) -> Result<Reservation> {
        let mut tx = self.db.begin_write().await?;
        let outcome = self.reserve_in(&mut tx, order_id, lines).await?;
        self.commit_change(tx).await?;
        Ok(outcome)
    }

    /// [`Self::reserve`] inside the caller's transaction; a refusal undoes
    /// the lines held so far (a savepoint) and leaves the rest of the
    /// transaction (its inbox row, its event) to commit.
    async fn reserve_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        order_id: Uuid,
        lines: &[(String, i64)],
    ) -> Result<Reservation> {
        use sqlx::Connection as _;
        let now = now_millis();
        if !inventory::reservation(&mut *tx, order_id).await?.is_empty() {
            return Ok(Reservation::Reserved);
        }
        // Merge repeated SKUs and lock rows in one order, so two orders
        // cannot deadlock on each other's lines.
        let mut merged: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
        for (sku, quantity) in lines {
            *merged.entry(sku.as_str()).or_default() += quantity;
        }
        let expires_at =
            now + i64::try_from(self.cfg.reservation_ttl_secs * 1000).unwrap_or(i64::MAX);
        let mut savepoint = tx.begin().await?;
        for (sku, quantity) in merged {
            if quantity <= 0 || !inventory::hold(&mut savepoint, sku, quantity, now).await? {
                savepoint.rollback().await?;
                return Ok(Reservation::Refused {
                    sku: sku.to_owned(),
                });
            }
            inventory::insert_reservation(&mut savepoint, order_id, sku, quantity, expires_at, now)
                .await?;
        }
        savepoint.commit().await?;
        Ok(Reservation::Reserved)
    }

    /// Handles `order.placed` once: reserves and announces
    /// `inventory.reserved` or `inventory.reservation_failed`.
    pub async fn on_order_placed(&self, event: &Envelope) -> anyhow::Result<()> {
        let placed: OrderPlaced = event.payload()?;
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, ORDER_CONSUMER, event.id).await? {
            tx.commit().await?;
            return Ok(());
        }
        let lines: Vec<(String, i64)> = placed
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.quantity))
            .collect();
        let outcome = self.reserve_in(&mut tx, placed.order_id, &lines).await?;
        let envelope = match outcome {
            Reservation::Reserved => {
                let ttl = time::Duration::seconds(
                    i64::try_from(self.cfg.reservation_ttl_secs).unwrap_or(1800),
                );
                let event = InventoryReserved {
                    order_id: placed.order_id,
                    expires_at: time::OffsetDateTime::now_utc() + ttl,
                };
                Envelope::new(crate::NAME, placed.order_id, &event)?
            }
            Reservation::Refused { sku } => {
                metrics::counter!("catalog_stockouts_total").increment(1);
                let event = InventoryReservationFailed {
                    order_id: placed.order_id,
                    sku,
                    reason: "out_of_stock".into(),
                };
                Envelope::new(crate::NAME, placed.order_id, &event)?
            }
        };
        self.outbox
            .append(&mut tx, &envelope.with_trace(event.trace.clone()))
            .await?;
        self.commit_change(tx).await?;
        Ok(())
    }

    /// Handles `order.cancelled` once: puts held units back.
    pub async fn on_order_cancelled(&self, event: &Envelope) -> anyhow::Result<()> {
        let cancelled: OrderCancelled = event.payload()?;
        self.settle_once(event, cancelled.order_id, "released", Some("cancelled"))
            .await
    }

    /// Handles `order.paid` once: the held units are sold.
    pub async fn on_order_paid(&self, event: &Envelope) -> anyhow::Result<()> {
        let paid: OrderPaid = event.payload()?;
        self.settle_once(event, paid.order_id, "committed", None)
            .await
    }

    async fn settle_once(
        &self,
        event: &Envelope,
        order_id: Uuid,
        to: &str,
        released: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, ORDER_CONSUMER, event.id).await? {
            tx.commit().await?;
            return Ok(());
        }
        let now = now_millis();
        let mut changed = inventory::settle(&mut tx, order_id, to, now).await?;
        if released.is_some() {
            // A paid order cancelled before shipping: its sold units return.
            changed += inventory::restock(&mut tx, order_id, now).await?;
        }
        if let (Some(reason), true) = (released, changed > 0) {
            let envelope = Envelope::new(
                crate::NAME,
                order_id,
                &InventoryReleased {
                    order_id,
                    reason: reason.into(),
                },
            )?;
            self.outbox
                .append(&mut tx, &envelope.with_trace(event.trace.clone()))
                .await?;
        }
        self.commit_change(tx).await?;
        Ok(())
    }

    /// Releases reservations left unpaid past their time and announces
    /// `inventory.released` (reason `expired`); returns how many orders.
    pub async fn expire_reservations(&self) -> Result<usize> {
        let now = now_millis();
        let mut released = 0;
        for order_id in inventory::expired_orders(self.db.pool(), now, 100).await? {
            let mut tx = self.db.begin_write().await?;
            if inventory::settle(&mut tx, order_id, "released", now).await? > 0 {
                let event = InventoryReleased {
                    order_id,
                    reason: "expired".into(),
                };
                let envelope = Envelope::new(crate::NAME, order_id, &event)
                    .context("encoding inventory.released")?;
                self.outbox.append(&mut tx, &envelope).await?;
                released += 1;
            }
            self.commit_change(tx).await?;
        }
        Ok(released)
    }

    /// How often [`run_expiry`] looks for lapsed reservations.
    pub fn expiry_sweep_interval(&self) -> std::time::Duration {
        let quarter = self.cfg.reservation_ttl_secs.saturating_mul(250);
        std::time::Duration::from_millis(quarter.clamp(250, 15_000))
    }

    /// Puts an order's held units back (cancelled or expired). Idempotent.
    pub async fn release(&self, order_id: Uuid) -> Result<usize> {
        let mut tx = self.db.begin_write().await?;
        let changed = inventory::settle(&mut tx, order_id, "released", now_millis()).await?;
        self.commit_change(tx).await?;
        Ok(changed)
    }

    /// Turns an order's held units into a sale (paid). Idempotent.
    pub async fn commit(&self, order_id: Uuid) -> Result<usize> {
        let mut tx = self.db.begin_write().await?;
        let changed = inventory::settle(&mut tx, order_id, "committed", now_millis()).await?;
        self.commit_change(tx).await?;
        Ok(changed)
    }
}

/// The category and all categories below it.
fn descendants(all: &[Category], root: Uuid) -> Vec<Uuid> {
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let current = found[i];
        let children: Vec<Uuid> = all
            .iter()
            .filter(|c| c.parent_id == Some(current) && !found.contains(&c.id))
            .map(|c| c.id)
            .collect();
        found.extend(children);
        i += 1;
    }
    found
}

fn as_input(p: &Product) -> ProductInput {
    ProductInput {
        name: p.name.clone(),
        slug: p.slug.clone(),
        description: p.description.clone(),
        status: p.status,
        category_ids: p.category_ids.clone(),
        images: p.images.clone(),
        attributes: p.attributes.clone(),
        variants: p
            .variants
            .iter()
            .map(|v| product::VariantInput {
                sku: v.sku.clone(),
                title: v.title.clone(),
                options: v.options.clone(),
                price: v.price,
                currency: p.currency.clone(),
                initial_stock: 0,
            })
            .collect(),
    }
}

fn prices_or_status_changed(before: &Product, after: &Product) -> bool {
    let prices = |p: &Product| {
        p.variants
            .iter()
            .map(|v| (v.sku.clone(), v.price))
            .collect::<Vec<_>>()
    };
    before.status != after.status
        || before.currency != after.currency
        || prices(before) != prices(after)
}

fn slug_taken(e: sqlx::Error) -> CatalogError {
    if db::is_unique_violation(&e, categories::SLUG_KEY, "category.slug") {
        CatalogError::SlugTaken
    } else {
        e.into()
    }
}

fn product_conflict(e: sqlx::Error) -> CatalogError {
    if db::is_unique_violation(&e, products::SLUG_KEY, "product.slug") {
        CatalogError::SlugTaken
    } else if db::is_unique_violation(&e, products::SKU_KEY, "variant.sku") {
        CatalogError::SkuTaken
    } else {
        e.into()
    }
}

/// Keeps this replica's read cache honest about writes it did not make:
/// on PostgreSQL, every change notice of another replica clears it, and so
/// does a lost listener connection (notices may have been missed meanwhile);
/// on SQLite, where only command-line tools (`mercato seed`, ...) can write
/// beside the server, the file's data version is watched every 100 ms.
pub async fn run_change_listener(
    service: Arc<CatalogService>,
    stop: tokio_util::sync::CancellationToken,
) {
    match service.db.backend() {
        db::Backend::Sqlite => watch_sqlite(&service, &stop).await,
        db::Backend::Postgres => listen_postgres(&service, &stop).await,
    }
}

async fn pause(stop: &tokio_util::sync::CancellationToken, for_: std::time::Duration) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(for_) => true,
    }
}

async fn watch_sqlite(service: &CatalogService, stop: &tokio_util::sync::CancellationToken) {
    let poll = std::time::Duration::from_millis(100);
    loop {
        // One connection of its own: `data_version` moves when any other
        // connection (this process's pool included) commits.
        let Ok(mut conn) = service.db.pool().acquire().await else {
            if !pause(stop, poll).await {
                return;
            }
            continue;
        };
        let mut seen: Option<i64> = None;
        loop {
            let version = sqlx::query_scalar::<_, i64>("pragma data_version")
                .fetch_one(&mut *conn)
                .await;
            match version {
                // The first reading counts as a change too: what was cached
                // before the watch began may predate another process's write.
                Ok(v) if seen != Some(v) => {
                    service.reads.invalidate();
                    seen = Some(v);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "watching the catalog file failed; retrying");
                    service.reads.invalidate();
                    break;
                }
            }
            if !pause(stop, poll).await {
                return;
            }
        }
    }
}

async fn listen_postgres(service: &CatalogService, stop: &tokio_util::sync::CancellationToken) {
    let retry = std::time::Duration::from_secs(1);
    loop {
        let mut listener = match service.db.listen(CHANGED).await {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "catalog change listener cannot connect; retrying");
                if !pause(stop, retry).await {
                    return;
                }
                continue;
            }
        };
        // Whatever was cached before this listener heard anything may
        // predate a notice it never got.
        service.reads.invalidate();
        loop {
            let notice = tokio::select! {
                () = stop.cancelled() => return,
                notice = listener.try_recv() => notice,
            };
            service.reads.invalidate();
            match notice {
                Ok(Some(_)) => {}
                // Disconnected: listen again from scratch (the invalidation
                // on connecting covers what was missed meanwhile).
                Ok(None) => {
                    tracing::warn!("catalog change listener lost its connection");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "catalog change listener failed; retrying");
                    if !pause(stop, retry).await {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// Releases expired reservations until `shutdown`: every 15 seconds, or a
/// quarter of the reservation time when that is shorter, so an expiry is
/// late by a small fraction of it.
pub async fn run_expiry(
    service: Arc<CatalogService>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        match service.expire_reservations().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "released expired reservations"),
            Err(e) => tracing::warn!(error.message = %e, "releasing expired reservations failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(service.expiry_sweep_interval()) => {},
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_include_every_level_below() {
        let c = |id: u128, parent: Option<u128>| Category {
            id: Uuid::from_u128(id),
            slug: format!("c{id}"),
            name: format!("C{id}"),
            parent_id: parent.map(Uuid::from_u128),
        };
        let all = vec![c(1, None), c(2, Some(1)), c(3, Some(2)), c(4, None)];
        let mut found = descendants(&all, Uuid::from_u128(1));
        found.sort();
        assert_eq!(found, [1, 2, 3].map(Uuid::from_u128));
    }
}
