//! The pool's account of writers waiting to begin, against real SQLite
//! (waiting for the one write turn) and PostgreSQL (waiting for a
//! connection of a full pool): what `db_pool_waiting` reports.

#![allow(
    clippy::unwrap_used,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::time::{Duration, Instant};

use platform::db::Db;
use testkit::{Backend, on_both_backends};

on_both_backends!(a_writer_waiting_to_begin_is_counted_until_it_begins);

async fn a_writer_waiting_to_begin_is_counted_until_it_begins(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = testkit::plumbing_config(backend, dir.path()).database;
    // One connection: on PostgreSQL the second writer waits for it.
    cfg.max_connections = 1;
    let db = Db::connect("pool", None, &cfg).await.unwrap();
    assert_eq!(db.pool_usage().waiting, 0);

    let first = db.begin_write().await.unwrap();
    assert_eq!(db.pool_usage().waiting, 0);
    let second = tokio::spawn({
        let db = db.clone();
        async move { db.begin_write().await.map(|tx| tx.rollback()) }
    });
    let started = Instant::now();
    while db.pool_usage().waiting != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the second writer is never counted as waiting"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // It keeps waiting while the first holds on.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(db.pool_usage().waiting, 1);
    assert!(!second.is_finished());

    first.commit().await.unwrap();
    second.await.unwrap().unwrap().await.unwrap();
    assert_eq!(db.pool_usage().waiting, 0);

    // A writer given up while waiting (its future dropped) is not counted.
    let held = db.begin_write().await.unwrap();
    let abandoned = tokio::time::timeout(Duration::from_millis(100), db.begin_write()).await;
    assert!(abandoned.is_err(), "the pool had a second writer's turn");
    assert_eq!(db.pool_usage().waiting, 0);
    held.rollback().await.unwrap();
    db.close().await;
}
