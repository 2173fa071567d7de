//! Idempotency keys (`Idempotency-Key`), as at Stripe: the same key with
//! the same request from the same caller gets the first answer again; the
//! same key with another request is a 422; a key still in flight is a 409.
//! Keys live 24 hours.
//!
//! A service claims the key before doing anything, and stores the answer
//! with [`complete`] *inside the transaction of its effect*, so the effect
//! and its recorded answer commit together: a crash in between leaves
//! neither. A request that fails without an effect [`release`]s the key so
//! the client can retry.
//!
//! A claim is held for a lease only ([`in_flight_lease`]): longer than any
//! request may run, since the request timeout ends it and rolls its
//! transaction back. A claim older than that has no live owner (its process
//! died, or its database went away, between claim and commit), so the next
//! request with the key takes it over and performs the effect once.

use aws_lc_rs::digest;
use axum::{
    extract::FromRequestParts,
    http::{HeaderName, request::Parts},
};
use sqlx::Row as _;

use crate::{Problem, db::Db};

/// How long a key is remembered, in milliseconds (24 hours).
pub const TTL_MS: i64 = 24 * 3600 * 1000;

/// How long an in-flight claim holds its key: the request timeout, within
/// which its owner commits or is cut off, and a margin for clocks.
pub fn in_flight_lease(request_timeout: std::time::Duration) -> std::time::Duration {
    request_timeout + std::time::Duration::from_secs(5)
}

/// The table every service that takes idempotency keys migrates.
pub const MIGRATION: (i64, &str, &str) = (
    20_261_126_100_200,
    "create idempotency_key",
    "create table idempotency_key (
        caller          text not null,    -- user id, or a stand-in for a guest
        idem_key        text not null,
        fingerprint     text not null,    -- SHA-256 of method, path and body
        state           text not null,    -- in_flight | done
        response_status bigint,
        response_body   text,
        created_at      bigint not null,
        primary key (caller, idem_key)
    );
    create index idempotency_key_created_idx on idempotency_key (created_at);",
);

/// The `Idempotency-Key` header: absent is fine; present must be 1 to 255
/// printable ASCII characters (else 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

static HEADER: HeaderName = HeaderName::from_static("idempotency-key");

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(&HEADER) else {
            return Ok(Self(None));
        };
        let valid = (1..=255).contains(&value.len())
            && value.as_bytes().iter().all(|b| (0x20..0x7f).contains(b));
        match value.to_str() {
            Ok(key) if valid => Ok(Self(Some(key.to_owned()))),
            _ => Err(Problem::bad_request(
                "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            )),
        }
    }
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or expired): go ahead, then `complete` or `release`.
    Started,
    /// Done before with the same request: send this again.
    Replay(StoredResponse),
    /// Another request with this key is still running: 409.
    InFlight,
    /// Used before with a different request: 422.
    Mismatch,
}

/// A recorded answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
}

/// Identifies a request: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(method.as_bytes());
    context.update(b" ");
    context.update(path.as_bytes());
    context.update(b"\n");
    context.update(body);
    context
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Claims `key` for `caller`. Only one of many concurrent claims starts;
/// an in-flight claim older than `lease` is taken over.
pub async fn claim(
    db: &Db,
    caller: &str,
    key: &str,
    fingerprint: &str,
    now: i64,
    lease: std::time::Duration,
) -> Result<Claim, sqlx::Error> {
    // A key older than the TTL is forgotten, and a claim older than its
    // lease has no owner any more: either can start again.
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    sqlx::query(
        "delete from idempotency_key where caller = $1 and idem_key = $2 \
         and (created_at <= $3 or (state = 'in_flight' and created_at <= $4))",
    )
    .bind(caller)
    .bind(key)
    .bind(now - TTL_MS)
    .bind(now.saturating_sub(lease_ms))
    .execute(db.pool())
    .await?;
    let inserted = sqlx::query(
        "insert into idempotency_key (caller, idem_key, fingerprint, state, created_at) \
         values ($1, $2, $3, 'in_flight', $4) on conflict (caller, idem_key) do nothing",
    )
    .bind(caller)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .execute(db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Started);
    }
    let row = sqlx::query(
        "select fingerprint, state, response_status, response_body from idempotency_key \
         where caller = $1 and idem_key = $2",
    )
    .bind(caller)
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        // Released between our insert and read: the caller may simply retry.
        return Ok(Claim::InFlight);
    };
    if row.try_get::<String, _>("fingerprint")? != fingerprint {
        return Ok(Claim::Mismatch);
    }
    let state: String = row.try_get("state")?;
    if state != "done" {
        return Ok(Claim::InFlight);
    }
    // A finished key always holds its answer: anything else is corruption.
    let corrupt = |column: &str, why: &str| sqlx::Error::ColumnDecode {
        index: format!("idempotency_key.{column}"),
        source: why.to_owned().into(),
    };
    let status: Option<i64> = row.try_get("response_status")?;
    let status = status
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| corrupt("response_status", "a done key without an HTTP status"))?;
    let body: Option<String> = row.try_get("response_body")?;
    Ok(Claim::Replay(StoredResponse {
        status,
        body: body.ok_or_else(|| corrupt("response_body", "a done key without its answer"))?,
    }))
}

/// Records the answer, in the transaction of the effect it answers for.
pub async fn complete(
    tx: &mut sqlx::AnyConnection,
    caller: &str,
    key: &str,
    response: &StoredResponse,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update idempotency_key set state = 'done', response_status = $3, response_body = $4 \
         where caller = $1 and idem_key = $2",
    )
    .bind(caller)
    .bind(key)
    .bind(i64::from(response.status))
    .bind(&response.body)
    .execute(tx)
    .await?;
    Ok(())
}

/// Forgets an in-flight key whose request failed without an effect.
pub async fn release(db: &Db, caller: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "delete from idempotency_key where caller = $1 and idem_key = $2 and state = 'in_flight'",
    )
    .bind(caller)
    .bind(key)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// [`release`] after a failed request, logging (not returning) a failure
/// to do so: the request's own error is what the client must see, and the
/// key expires with its TTL anyway.
pub async fn release_after_failure(db: &Db, caller: &str, key: &str) {
    if let Err(e) = release(db, caller, key).await {
        tracing::warn!(error.message = %e, "releasing an idempotency key failed");
    }
}

/// The request's `Idempotency-Key` and the fingerprint of its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The key.
    pub key: String,
    /// See [`fingerprint`].
    pub fingerprint: String,
}

/// A key claimed for one caller: the operation records its answer with
/// [`complete`] in the transaction of its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed<'a> {
    /// Whose key it is (an account id, `guest:<cart>`).
    pub caller: &'a str,
    /// The key.
    pub key: &'a str,
}

impl Claimed<'_> {
    /// Records `response` as the key's answer, inside `tx`.
    pub async fn complete(
        &self,
        tx: &mut sqlx::AnyConnection,
        response: &StoredResponse,
    ) -> Result<(), sqlx::Error> {
        complete(tx, self.caller, self.key, response).await
    }
}

/// What an idempotent operation answered.
#[derive(Debug)]
pub enum Once<T> {
    /// It ran now (with the key claimed, if one was sent).
    Ran(T),
    /// The key was used before with this request: its first answer.
    Replay(StoredResponse),
}

/// Runs `op` at most once per `caller` and key: without a key it simply
/// runs; with one, a replay answers the first answer, a key in flight or
/// used for another request answers its problem, and otherwise `op` runs
/// with the claim, and the claim is released if `op` fails (nothing was
/// written, so the client may retry with the same key). `hold` is how
/// long an in-flight claim keeps others out (see [`in_flight_lease`]).
pub async fn once<'a, T, E, Fut>(
    db: &Db,
    caller: &'a str,
    idem: Option<&'a Idempotency>,
    hold: std::time::Duration,
    op: impl FnOnce(Option<Claimed<'a>>) -> Fut,
) -> Result<Once<T>, E>
where
    Fut: Future<Output = Result<T, E>>,
    E: From<Problem> + From<sqlx::Error>,
{
    let Some(idem) = idem else {
        return op(None).await.map(Once::Ran);
    };
    let claim = claim(
        db,
        caller,
        &idem.key,
        &idem.fingerprint,
        crate::time::now_millis(),
        hold,
    )
    .await?;
    if let Claim::Replay(stored) = claim {
        return Ok(Once::Replay(stored));
    }
    if let Some(problem) = problem(&claim) {
        return Err(problem.into());
    }
    let claimed = Claimed {
        caller,
        key: &idem.key,
    };
    let result = op(Some(claimed)).await;
    if result.is_err() {
        release_after_failure(db, caller, &idem.key).await;
    }
    result.map(Once::Ran)
}

/// Deletes keys older than the TTL; returns how many.
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("delete from idempotency_key where created_at <= $1")
        .bind(now - TTL_MS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// The problem for a claim that cannot go ahead.
pub fn problem(claim: &Claim) -> Option<Problem> {
    use axum::http::StatusCode;
    match claim {
        Claim::InFlight => Some(
            Problem::new(
                StatusCode::CONFLICT,
                "idempotency/in-flight",
                "GEN-0409",
                "Request in progress",
            )
            .detail("A request with this Idempotency-Key is still being processed; retry shortly."),
        ),
        Claim::Mismatch => {
            let mut problem = Problem::invalid_field(
                "Idempotency-Key",
                "was used with a different request; use a new key for a new request",
            );
            problem.code = "GEN-0422-IDEMPOTENCY".into();
            Some(problem)
        }
        Claim::Started | Claim::Replay(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn key_from(value: Option<&[u8]>) -> Result<IdempotencyKey, Problem> {
        let mut request = axum::http::Request::builder().uri("/");
        if let Some(value) = value {
            request = request.header(
                "idempotency-key",
                axum::http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        IdempotencyKey::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn the_header_is_optional_but_must_be_short_printable_ascii() {
        assert_eq!(key_from(None).await.unwrap(), IdempotencyKey(None));
        assert_eq!(
            key_from(Some(b"order-42 retry")).await.unwrap(),
            IdempotencyKey(Some("order-42 retry".into()))
        );
        for bad in [
            &b""[..],
            &[b'k'; 256][..],
            &b"caf\xc3\xa9"[..],
            &b"tab\there"[..],
        ] {
            assert_eq!(
                key_from(Some(bad)).await.unwrap_err().status,
                400,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fingerprints_differ_by_method_path_and_body() {
        let a = fingerprint("POST", "/api/v1/orders", b"{}");
        assert_eq!(a, fingerprint("POST", "/api/v1/orders", b"{}"));
        assert_ne!(a, fingerprint("POST", "/api/v1/orders", b"{ }"));
        assert_ne!(a, fingerprint("PUT", "/api/v1/orders", b"{}"));
        assert_ne!(a, fingerprint("POST", "/api/v1/order", b"{}"));
        assert_eq!(a.len(), 64);
    }
}
