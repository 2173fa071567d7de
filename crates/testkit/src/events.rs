//! Event test fixtures: a scratch database with an outbox and an inbox, a
//! test event, and a recording consumer whose effect is exactly-once.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use eventbus::{Envelope, Handler, inbox};
use futures::future::BoxFuture;
use platform::db::Db;
use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use uuid::Uuid;

use crate::Backend;

/// A test event: the `n`th change of aggregate `key`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Happened {
    /// Position within its aggregate.
    pub n: i64,
}

impl contracts::events::Event for Happened {
    const TYPE: &'static str = "test.happened";
}

const APPLIED: (i64, &str, &str) = (
    20_261_126_200_000,
    "create applied",
    "create table applied (
        consumer   text not null,
        event_id   text not null,
        event_type text not null,
        event_key  text not null,
        n          bigint not null,
        position   bigint not null
    );",
);

/// A migrated scratch database (outbox, inbox, `applied`) on `backend`.
pub struct ScratchDb {
    /// The pool.
    pub db: Db,
    _dir: tempfile::TempDir,
}

impl ScratchDb {
    /// Creates one: a SQLite file in a temp folder, or a fresh PostgreSQL schema.
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::plumbing_config(backend, dir.path()).database;
        cfg.max_connections = 8;
        let db = Db::connect("scratch", None, &cfg).await.unwrap();
        db.migrate(&platform::db::migrator(&[
            eventbus::outbox::MIGRATION,
            inbox::MIGRATION,
            APPLIED,
        ]))
        .await
        .unwrap();
        Self { db, _dir: dir }
    }
}

/// One applied effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The envelope's id (the deduplication key).
    pub event_id: String,
    /// The envelope's type, e.g. `order.placed`.
    pub event_type: String,
    /// Aggregate key.
    pub key: String,
    /// `n` of a [`Happened`], else 0.
    pub n: i64,
}

/// A consumer that records each event once (inbox + effect in one
/// transaction), optionally failing some deliveries first.
pub struct Recorder {
    db: Db,
    consumer: String,
    fail_first: u32,
    poison_key: Option<String>,
    attempts: Mutex<HashMap<Uuid, u32>>,
    position: AtomicI64,
}

impl Recorder {
    /// A recorder writing to `db` as `consumer`.
    pub fn new(db: Db, consumer: &str) -> Self {
        Self {
            db,
            consumer: consumer.to_owned(),
            fail_first: 0,
            poison_key: None,
            attempts: Mutex::new(HashMap::new()),
            position: AtomicI64::new(0),
        }
    }

    /// Fails the first `n` deliveries of every event.
    pub fn failing_first(mut self, n: u32) -> Self {
        self.fail_first = n;
        self
    }

    /// Always fails events of this aggregate.
    pub fn poisoned(mut self, key: &str) -> Self {
        self.poison_key = Some(key.to_owned());
        self
    }

    /// How often the event was handed to the handler.
    pub fn attempts(&self, id: Uuid) -> u32 {
        self.attempts.lock().unwrap().get(&id).copied().unwrap_or(0)
    }

    /// Every applied effect, in the order applied.
    pub async fn applied(&self) -> Vec<Applied> {
        let rows = sqlx::query(
            "select event_id, event_type, event_key, n from applied where consumer = $1 order by position",
        )
        .bind(&self.consumer)
        .fetch_all(self.db.pool())
        .await
        .unwrap();
        rows.iter()
            .map(|r| Applied {
                event_id: r.get("event_id"),
                event_type: r.get("event_type"),
                key: r.get("event_key"),
                n: r.get("n"),
            })
            .collect()
    }

    /// Waits until `count` effects are applied (or `timeout` passes), then
    /// waits a little longer to catch any extra (duplicate) delivery.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Applied> {
        let started = Instant::now();
        loop {
            let applied = self.applied().await;
            if applied.len() >= count || started.elapsed() > timeout {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return self.applied().await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn apply(&self, event: &Envelope) -> anyhow::Result<()> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, &self.consumer, event.id).await? {
            tx.commit().await?;
            return Ok(());
        }
        let n = event
            .data
            .get("n")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        sqlx::query(
            "insert into applied (consumer, event_id, event_type, event_key, n, position) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&self.consumer)
        .bind(event.id.to_string())
        .bind(&event.event_type)
        .bind(&event.key)
        .bind(n)
        .bind(self.position.fetch_add(1, Ordering::SeqCst))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Handler for Recorder {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let attempt = {
                let mut attempts = self.attempts.lock().unwrap();
                let count = attempts.entry(event.id).or_insert(0);
                *count += 1;
                *count
            };
            if self.poison_key.as_deref() == Some(event.key.as_str()) {
                anyhow::bail!("poisoned aggregate {}", event.key);
            }
            if attempt <= self.fail_first {
                anyhow::bail!("failing delivery {attempt} on purpose");
            }
            self.apply(event).await
        })
    }
}

/// Asserts that every effect is applied once and, per key, in order of `n`.
pub fn assert_once_and_in_order(applied: &[Applied], expected: usize) {
    let mut ids: Vec<&str> = applied.iter().map(|a| a.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), applied.len(), "an effect was applied twice");
    assert_eq!(applied.len(), expected, "not every event arrived");
    let mut last: HashMap<&str, i64> = HashMap::new();
    for a in applied {
        let previous = last.insert(&a.key, a.n);
        assert!(
            previous.is_none_or(|p| p < a.n),
            "key {} out of order: {previous:?} then {}",
            a.key,
            a.n
        );
    }
}
