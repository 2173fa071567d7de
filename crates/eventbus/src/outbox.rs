//! The transactional outbox and its relay.
//!
//! A service appends its events inside the transaction of the change
//! ([`Outbox::append`]) and commits through [`Outbox::commit`], which wakes
//! the relay at once. The relay publishes pending rows in id order (UUIDv7,
//! so creation order; per aggregate, writes are serialised by the
//! aggregate's own row, so its events are in commit order) and marks them
//! published only after the bus accepted them. A crash before marking means
//! they are published again: the bus and the consumers deduplicate by id.

use std::{sync::Arc, time::Duration};

use platform::{db::Db, time::now_millis};
use sqlx::{AnyConnection, Row as _};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{Envelope, EventBus, EventBusConfig};

/// Published rows are kept this long for inspection and replay.
const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The outbox table every publishing service's migrations include.
pub const MIGRATION: (i64, &str, &str) = (
    20_261_126_100_000,
    "create outbox",
    "create table outbox (
        event_id     text primary key,   -- UUIDv7: sorts by creation
        event_type   text not null,
        aggregate_id text not null,
        envelope     text not null,      -- the JSON envelope as published
        created_at   bigint not null,
        published_at bigint
    );
    create index outbox_pending_idx on outbox (event_id) where published_at is null;
    create index outbox_published_idx on outbox (published_at) where published_at is not null;",
);

/// A service's outbox.
pub struct Outbox {
    db: Db,
    service: String,
    wake: Notify,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// The outbox in `db` of `service`.
    pub fn new(db: Db, service: &str) -> Arc<Self> {
        Arc::new(Self {
            db,
            service: service.to_owned(),
            wake: Notify::new(),
        })
    }

    /// Writes an event inside the caller's transaction.
    pub async fn append(&self, tx: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
        let envelope = serde_json::to_string(event)?;
        sqlx::query(
            "insert into outbox (event_id, event_type, aggregate_id, envelope, created_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(event.id.to_string())
        .bind(&event.event_type)
        .bind(&event.key)
        .bind(envelope)
        .bind(now_millis())
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Commits a transaction that appended events and wakes the relay.
    pub async fn commit(&self, tx: platform::db::WriteTx) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Pending rows in id (creation) order: id, envelope, created_at.
    async fn pending(&self, limit: u32) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "select event_id, envelope, created_at from outbox where published_at is null \
             order by event_id limit $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("event_id")?,
                    r.try_get("envelope")?,
                    r.try_get("created_at")?,
                ))
            })
            .collect()
    }

    async fn mark_published(&self, ids: &[String]) -> Result<(), sqlx::Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut params = platform::db::Params::default();
        let now = params.push(now_millis());
        let sql = format!(
            "update outbox set published_at = {now} where event_id in ({})",
            params.list(ids.iter().map(String::as_str))
        );
        let query = params.bind(sqlx::query(sqlx::AssertSqlSafe(sql)));
        query.execute(self.db.pool()).await?;
        Ok(())
    }

    async fn prune(&self) -> Result<u64, sqlx::Error> {
        let cutoff = now_millis() - i64::try_from(RETENTION.as_millis()).unwrap_or(i64::MAX);
        let done =
            sqlx::query("delete from outbox where published_at is not null and published_at < $1")
                .bind(cutoff)
                .execute(self.db.pool())
                .await?;
        Ok(done.rows_affected())
    }

    /// Unpublished rows (for tests and the operator).
    pub async fn pending_count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query("select count(*) as n from outbox where published_at is null")
            .fetch_one(self.db.pool())
            .await?
            .try_get("n")
    }
}

/// Publishes the outbox until `shutdown`. Transient failures (database or
/// bus) are retried with backoff; the rows stay pending meanwhile.
pub async fn run_relay(
    outbox: Arc<Outbox>,
    bus: Arc<dyn EventBus>,
    cfg: EventBusConfig,
    shutdown: CancellationToken,
) {
    let service = outbox.service.clone();
    let lag = metrics::gauge!("eventbus_outbox_lag_seconds", "service" => service.clone());
    let initial_backoff = Duration::from_millis(100);
    let max_backoff = Duration::from_millis(cfg.relay_max_backoff_ms.max(100));
    let mut backoff = initial_backoff;
    let mut last_prune = std::time::Instant::now();
    tracing::info!(outbox.service = %service, bus = bus.kind(), "outbox relay started");
    while !shutdown.is_cancelled() {
        let batch = match outbox.pending(cfg.relay_batch).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(outbox.service = %service, error.message = %e, "reading the outbox failed");
                pause(&shutdown, backoff).await;
                backoff = (backoff * 2).min(max_backoff);
                continue;
            }
        };
        // The first pending row is the oldest: the lag costs no extra query.
        let oldest = batch
            .first()
            .map_or(0.0, |(_, _, at)| (now_millis() - at).max(0) as f64 / 1000.0);
        lag.set(oldest);
        if batch.is_empty() {
            if last_prune.elapsed() > Duration::from_secs(600) {
                last_prune = std::time::Instant::now();
                if let Ok(n) = outbox.prune().await
                    && n > 0
                {
                    tracing::info!(outbox.service = %service, rows = n, "pruned published outbox rows");
                }
            }
            wait_for_rows(&outbox, &cfg, &shutdown).await;
            continue;
        }
        // A short batch was everything there was: rather than ask again at
        // once (a query per event at low load), wait for the next commit's
        // wake-up, which is kept if it came while this batch was out.
        let drained = batch.len() < usize::try_from(cfg.relay_batch).unwrap_or(usize::MAX);
        let mut ids = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(batch.len());
        for (id, json, _) in batch {
            match serde_json::from_str::<Envelope>(&json) {
                Ok(event) => events.push(event),
                // Written by this code, so this is a bug; the row is logged
                // whole and passed over rather than blocking every later event.
                Err(e) => {
                    tracing::error!(outbox.service = %service, event.id = %id, error.message = %e, row = %json, "unreadable outbox row skipped")
                }
            }
            ids.push(id);
        }
        let spans: Vec<tracing::Span> = events.iter().map(crate::bus::publish_span).collect();
        let published = bus.publish(&events).await;
        drop(spans);
        match published {
            Ok(()) => {
                if let Err(e) = outbox.mark_published(&ids).await {
                    // Published but not marked: they go out again and are deduplicated.
                    tracing::warn!(outbox.service = %service, error.message = %e, "marking outbox rows published failed");
                    pause(&shutdown, backoff).await;
                    backoff = (backoff * 2).min(max_backoff);
                    continue;
                }
                backoff = initial_backoff;
                if drained {
                    wait_for_rows(&outbox, &cfg, &shutdown).await;
                }
            }
            Err(e) => {
                metrics::counter!("eventbus_publish_failed_total", "service" => service.clone())
                    .increment(1);
                tracing::warn!(outbox.service = %service, error.message = %e, retry_in_ms = backoff.as_millis() as u64, "publishing events failed; will retry");
                pause(&shutdown, backoff).await;
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    }
    tracing::info!(outbox.service = %service, "outbox relay stopped");
}

/// Until a commit wakes the relay, the poll interval passes (rows written
/// by another process), or shutdown.
async fn wait_for_rows(outbox: &Outbox, cfg: &EventBusConfig, shutdown: &CancellationToken) {
    tokio::select! {
        () = outbox.wake.notified() => {},
        () = tokio::time::sleep(Duration::from_millis(cfg.relay_poll_ms)) => {},
        () = shutdown.cancelled() => {},
    }
}

async fn pause(shutdown: &CancellationToken, wait: Duration) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {},
        () = shutdown.cancelled() => {},
    }
}
