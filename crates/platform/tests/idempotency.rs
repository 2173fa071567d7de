//! Idempotency keys against real SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::sync::Arc;

use platform::{
    Problem,
    db::Db,
    idempotency::{self, Claim, Idempotency, Once, StoredResponse, TTL_MS},
    time::now_millis,
};
use testkit::{Backend, on_both_backends};

/// The lease of a 30-second request timeout.
const LEASE: std::time::Duration = std::time::Duration::from_secs(35);

on_both_backends!(
    a_key_starts_once_then_replays_its_answer,
    a_key_reused_for_another_request_is_a_mismatch,
    a_released_or_expired_key_starts_again,
    of_twenty_concurrent_claims_exactly_one_starts,
    a_claim_whose_owner_is_gone_is_taken_over_after_its_lease_by_one_retry,
    once_runs_an_operation_once_per_key_and_frees_the_key_when_it_fails,
);

async fn a_claim_whose_owner_is_gone_is_taken_over_after_its_lease_by_one_retry(backend: Backend) {
    let (db, _dir) = db(backend).await;
    let db = Arc::new(db);
    let print = idempotency::fingerprint("POST", "/api/v1/orders", b"{}");
    let now = now_millis();
    // The owner claimed, then died before committing anything.
    assert_eq!(
        idempotency::claim(&db, "u", "k", &print, now, LEASE)
            .await
            .unwrap(),
        Claim::Started
    );
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap();
    // Within the lease it may still be working: in flight.
    assert_eq!(
        idempotency::claim(&db, "u", "k", &print, now + lease_ms - 1, LEASE)
            .await
            .unwrap(),
        Claim::InFlight
    );
    // Past it, of many retries at once exactly one takes the key over.
    let later = now + lease_ms + 1;
    let retries: Vec<_> = (0..10)
        .map(|_| {
            let (db, print) = (db.clone(), print.clone());
            tokio::spawn(async move {
                idempotency::claim(&db, "u", "k", &print, later, LEASE)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut started = 0;
    for retry in retries {
        match retry.await.unwrap() {
            Claim::Started => started += 1,
            Claim::InFlight => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(started, 1);
    // A done key is never taken over: it replays for its whole TTL.
    let answer = StoredResponse {
        status: 201,
        body: "{}".into(),
    };
    let mut tx = db.begin_write().await.unwrap();
    idempotency::complete(&mut tx, "u", "k", &answer)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        idempotency::claim(&db, "u", "k", &print, later + 10 * lease_ms, LEASE)
            .await
            .unwrap(),
        Claim::Replay(answer)
    );
}

async fn db(backend: Backend) -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = testkit::plumbing_config(backend, dir.path()).database;
    let db = Db::connect("idem", None, &cfg).await.unwrap();
    db.migrate(&platform::db::migrator(&[idempotency::MIGRATION]))
        .await
        .unwrap();
    (db, dir)
}

async fn a_key_starts_once_then_replays_its_answer(backend: Backend) {
    let (db, _dir) = db(backend).await;
    let print = idempotency::fingerprint("POST", "/api/v1/orders", b"{\"cart_id\":1}");
    let now = now_millis();
    assert_eq!(
        idempotency::claim(&db, "user-1", "k1", &print, now, LEASE)
            .await
            .unwrap(),
        Claim::Started
    );
    assert_eq!(
        idempotency::claim(&db, "user-1", "k1", &print, now, LEASE)
            .await
            .unwrap(),
        Claim::InFlight
    );
    let answer = StoredResponse {
        status: 201,
        body: "{\"id\":\"o-1\"}".into(),
    };
    let mut tx = db.begin_write().await.unwrap();
    idempotency::complete(&mut tx, "user-1", "k1", &answer)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        idempotency::claim(&db, "user-1", "k1", &print, now, LEASE)
            .await
            .unwrap(),
        Claim::Replay(answer)
    );
    // Keys are per caller.
    assert_eq!(
        idempotency::claim(&db, "user-2", "k1", &print, now, LEASE)
            .await
            .unwrap(),
        Claim::Started
    );
}

async fn a_key_reused_for_another_request_is_a_mismatch(backend: Backend) {
    let (db, _dir) = db(backend).await;
    let now = now_millis();
    let first = idempotency::fingerprint("POST", "/api/v1/orders", b"{\"a\":1}");
    let second = idempotency::fingerprint("POST", "/api/v1/orders", b"{\"a\":2}");
    idempotency::claim(&db, "u", "k", &first, now, LEASE)
        .await
        .unwrap();
    let claim = idempotency::claim(&db, "u", "k", &second, now, LEASE)
        .await
        .unwrap();
    assert_eq!(claim, Claim::Mismatch);
    assert_eq!(idempotency::problem(&claim).unwrap().status, 422);
    assert_eq!(idempotency::problem(&Claim::InFlight).unwrap().status, 409);
}

async fn a_released_or_expired_key_starts_again(backend: Backend) {
    let (db, _dir) = db(backend).await;
    let print = idempotency::fingerprint("POST", "/x", b"");
    let now = now_millis();
    idempotency::claim(&db, "u", "k", &print, now, LEASE)
        .await
        .unwrap();
    idempotency::release(&db, "u", "k").await.unwrap();
    assert_eq!(
        idempotency::claim(&db, "u", "k", &print, now, LEASE)
            .await
            .unwrap(),
        Claim::Started
    );
    // A day later the key is forgotten, even once done.
    let mut tx = db.begin_write().await.unwrap();
    idempotency::complete(
        &mut tx,
        "u",
        "k",
        &StoredResponse {
            status: 201,
            body: "{}".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let later = now + TTL_MS + 1;
    assert_eq!(
        idempotency::claim(&db, "u", "k", &print, later, LEASE)
            .await
            .unwrap(),
        Claim::Started
    );
    assert_eq!(
        idempotency::prune(&db, later + TTL_MS + 1).await.unwrap(),
        1
    );
}

async fn of_twenty_concurrent_claims_exactly_one_starts(backend: Backend) {
    let (db, _dir) = db(backend).await;
    let db = Arc::new(db);
    let print = idempotency::fingerprint("POST", "/api/v1/orders", b"{}");
    let now = now_millis();
    let claims: Vec<_> = (0..20)
        .map(|_| {
            let (db, print) = (db.clone(), print.clone());
            tokio::spawn(async move {
                idempotency::claim(&db, "u", "same", &print, now, LEASE)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut started = 0;
    for claim in claims {
        match claim.await.unwrap() {
            Claim::Started => started += 1,
            Claim::InFlight => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(started, 1);
}

/// What an operation run by `once` can fail with.
#[derive(Debug)]
enum OpError {
    Problem(u16),
    Database,
    Failed,
}

impl From<Problem> for OpError {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem.status)
    }
}

impl From<sqlx::Error> for OpError {
    fn from(_: sqlx::Error) -> Self {
        Self::Database
    }
}

async fn once_runs_an_operation_once_per_key_and_frees_the_key_when_it_fails(backend: Backend) {
    let (db, _dir) = db(backend).await;
    let idem = Idempotency {
        key: "k".into(),
        fingerprint: idempotency::fingerprint("POST", "/x", b"{}"),
    };
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let run = |fail: bool| {
        let (db, idem, runs) = (&db, &idem, &runs);
        async move {
            idempotency::once(db, "u", Some(idem), LEASE, |key| async move {
                runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if fail {
                    return Err(OpError::Failed);
                }
                let key = key.expect("a key was sent, so it is claimed");
                let mut tx = db.begin_write().await?;
                key.complete(
                    &mut tx,
                    &StoredResponse {
                        status: 201,
                        body: "first".into(),
                    },
                )
                .await?;
                tx.commit().await?;
                Ok("ran")
            })
            .await
        }
    };
    // A failure leaves the key free: the retry runs.
    assert!(matches!(run(true).await, Err(OpError::Failed)));
    assert!(matches!(run(false).await, Ok(Once::Ran("ran"))));
    // Then every later call replays the recorded answer without running.
    for _ in 0..3 {
        match run(false).await {
            Ok(Once::Replay(stored)) => {
                assert_eq!((stored.status, stored.body.as_str()), (201, "first"))
            }
            other => panic!("expected a replay: {other:?}"),
        }
    }
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
    // The same key for another request is refused with its problem.
    let other = Idempotency {
        key: "k".into(),
        fingerprint: idempotency::fingerprint("POST", "/x", b"{\"a\":1}"),
    };
    let refused = idempotency::once(&db, "u", Some(&other), LEASE, |_| async {
        Ok::<_, OpError>(())
    })
    .await;
    assert!(matches!(refused, Err(OpError::Problem(422))), "{refused:?}");
    // Without a key it simply runs.
    let plain = idempotency::once(&db, "u", None, LEASE, |key| async move {
        assert!(key.is_none());
        Ok::<_, OpError>(7)
    })
    .await;
    assert!(matches!(plain, Ok(Once::Ran(7))));
}
