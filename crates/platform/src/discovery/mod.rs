//! Service discovery through etcd, in the key layout Traefik's etcd
//! provider reads, so one registration serves both the gateway and the
//! services that call each other:
//!
//! - `traefik/http/routers/<service>/rule` and `.../service`: written
//!   without a lease (every instance of a service writes the same values);
//! - `traefik/http/services/<service>/loadBalancer/healthCheck/...`: the
//!   gateway's active check of every instance's `/health/ready`, also
//!   without a lease, so that the service (and its route) outlives its
//!   last instance: with none healthy the gateway answers 503 itself,
//!   which its `mercato-problems` middleware renders as a problem, instead
//!   of dropping the route and answering 404;
//! - `traefik/http/services/<service>/loadBalancer/servers/<instance>/url`:
//!   one key per instance under a lease the instance keeps alive. A crashed
//!   instance drops out when its lease expires (the health check has
//!   stopped sending it requests a second or two after its death); a
//!   stopped one revokes it.
//! - the same under [`EDGE_SERVICE`], once per process: every instance
//!   also serves the gateway's own pages (problem documents, the merged
//!   OpenAPI document, the edge's health).
//!
//! etcd is reached through its v3 JSON gateway over HTTP (keys and values
//! base64), which every etcd since 3.4 serves on the client port.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

mod peers;
pub use peers::{Endpoints, PEER_CONNECT_TIMEOUT, Peer, PeerError, Retry};

/// Root of Traefik's keys.
const ROOT: &str = "traefik/http";

/// The Traefik service made of every instance, whatever it runs, which
/// serves the gateway's own pages (`platform::http::edge`).
pub const EDGE_SERVICE: &str = "mercato-edge";

/// How often, and how patiently, the gateway checks each instance: a
/// killed instance stops getting requests within two or three seconds,
/// before its lease runs out; a busy one has two seconds to answer (its
/// readiness waits as long for each dependency) before it is taken out.
const HEALTH_INTERVAL: &str = "1s";
const HEALTH_TIMEOUT: &str = "2s";

/// An etcd server (or cluster member) through its JSON gateway.
#[derive(Debug, Clone)]
pub struct Etcd {
    base: String,
    http: reqwest::Client,
}

/// What an etcd call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// Unreachable, timed out, or answered with an error.
    #[error("etcd: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct Kv {
    key: String,
    #[serde(default)]
    value: String,
}

impl Etcd {
    /// A client of the etcd at `url` (e.g. `http://etcd:2379`).
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            base: url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()?,
        })
    }

    async fn call(&self, path: &str, body: Value) -> Result<Value, EtcdError> {
        let unavailable = |e: reqwest::Error| EtcdError::Unavailable(e.to_string());
        let response = self
            .http
            .post(format!("{}/v3/{path}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        let text = response.text().await.map_err(unavailable)?;
        if !status.is_success() {
            return Err(EtcdError::Unavailable(format!("{path}: {status}: {text}")));
        }
        // The keep-alive answer is a stream of JSON objects; the first will do.
        let first = text.lines().next().unwrap_or("{}");
        serde_json::from_str(first)
            .map_err(|e| EtcdError::Unavailable(format!("{path}: unreadable answer: {e}")))
    }

    /// A lease of `ttl_secs`; returns its id.
    pub async fn grant(&self, ttl_secs: u64) -> Result<i64, EtcdError> {
        let answer = self.call("lease/grant", json!({"TTL": ttl_secs})).await?;
        number(&answer["ID"]).ok_or_else(|| EtcdError::Unavailable("lease/grant: no ID".into()))
    }

    /// Renews a lease; false if it expired already.
    pub async fn keep_alive(&self, lease: i64) -> Result<bool, EtcdError> {
        let answer = self
            .call("lease/keepalive", json!({"ID": lease.to_string()}))
            .await?;
        Ok(number(&answer["result"]["TTL"]).is_some_and(|ttl| ttl > 0))
    }

    /// Ends a lease and deletes its keys.
    pub async fn revoke(&self, lease: i64) -> Result<(), EtcdError> {
        self.call("lease/revoke", json!({"ID": lease.to_string()}))
            .await
            .map(|_| ())
    }

    /// Writes `key`, under `lease` if given.
    pub async fn put(&self, key: &str, value: &str, lease: Option<i64>) -> Result<(), EtcdError> {
        let mut body = json!({"key": B64.encode(key), "value": B64.encode(value)});
        if let Some(lease) = lease {
            body["lease"] = json!(lease.to_string());
        }
        self.call("kv/put", body).await.map(|_| ())
    }

    /// Deletes every key under `prefix`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), EtcdError> {
        self.call(
            "kv/deleterange",
            json!({"key": B64.encode(prefix), "range_end": B64.encode(prefix_end(prefix))}),
        )
        .await
        .map(|_| ())
    }

    /// Every key under `prefix` with its value.
    pub async fn prefix(&self, prefix: &str) -> Result<Vec<(String, String)>, EtcdError> {
        let answer = self
            .call(
                "kv/range",
                json!({"key": B64.encode(prefix), "range_end": B64.encode(prefix_end(prefix))}),
            )
            .await?;
        let kvs: Vec<Kv> = serde_json::from_value(answer["kvs"].clone()).unwrap_or_default();
        Ok(kvs
            .into_iter()
            .filter_map(|kv| {
                let key = String::from_utf8(B64.decode(kv.key).ok()?).ok()?;
                let value = String::from_utf8(B64.decode(kv.value).ok()?).ok()?;
                Some((key, value))
            })
            .collect())
    }

    /// Answers whether etcd responds.
    pub async fn ping(&self) -> bool {
        self.call("maintenance/status", json!({})).await.is_ok()
    }
}

/// etcd's JSON numbers are strings (int64).
fn number(value: &Value) -> Option<i64> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_i64())
}

/// The end of the key range that holds every key starting with `prefix`.
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The key of one instance's address.
pub fn server_key(service: &str, instance: &str) -> String {
    format!("{ROOT}/services/{service}/loadBalancer/servers/{instance}/url")
}

/// The prefix of every instance address of a service.
pub fn servers_prefix(service: &str) -> String {
    format!("{ROOT}/services/{service}/loadBalancer/servers/")
}

/// The gateway's health check of a service's instances, actively at
/// `path` every second.
///
/// No passive check: Traefik's counts a 5xx answer as a failure, so an
/// instance rightly answering 502 (its payment provider is down) three
/// times was taken out of rotation, and with it every route of the
/// service, for requests that had nothing to do with the provider. A dead
/// instance is out within a second or two by the active check; until
/// then the gateway's retry sends what it could not deliver elsewhere.
/// The keys an older release wrote are removed.
async fn put_health_check(etcd: &Etcd, service: &str, path: &str) -> Result<(), EtcdError> {
    let balancer = format!("{ROOT}/services/{service}/loadBalancer");
    for (key, value) in [
        ("healthCheck/path", path),
        ("healthCheck/interval", HEALTH_INTERVAL),
        ("healthCheck/timeout", HEALTH_TIMEOUT),
    ] {
        etcd.put(&format!("{balancer}/{key}"), value, None).await?;
    }
    etcd.delete_prefix(&format!("{balancer}/passiveHealthCheck/"))
        .await
}

/// A Traefik rule matching every prefix.
pub fn path_rule(prefixes: &[&str]) -> String {
    prefixes
        .iter()
        .map(|p| format!("PathPrefix(`{p}`)"))
        .collect::<Vec<_>>()
        .join(" || ")
}

/// One instance's registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Service name (the Traefik router and service).
    pub service: String,
    /// This instance's unique name.
    pub instance: String,
    /// Where others reach it, e.g. `http://10.0.0.5:8080`.
    pub url: String,
    /// The Traefik rule of the service's routes.
    pub rule: String,
    /// Traefik middlewares the router applies (defined in Traefik's own
    /// configuration), e.g. `mercato-retry@file`.
    pub middlewares: Vec<String>,
    /// The Traefik servers transport of the service, if not the default.
    pub servers_transport: Option<String>,
}

/// Whether the instance is registered right now, for `/health/ready`.
#[derive(Debug, Clone, Default)]
pub struct RegistryStatus(Arc<AtomicBool>);

impl RegistryStatus {
    /// Registered and kept alive?
    pub fn is_registered(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, up: bool) {
        self.0.store(up, Ordering::Relaxed);
    }
}

async fn register(etcd: &Etcd, regs: &[Registration], ttl_secs: u64) -> Result<i64, EtcdError> {
    let lease = etcd.grant(ttl_secs).await?;
    for reg in regs {
        let router = format!("{ROOT}/routers/{}", reg.service);
        etcd.put(&format!("{router}/rule"), &reg.rule, None).await?;
        etcd.put(&format!("{router}/service"), &reg.service, None)
            .await?;
        for (i, middleware) in reg.middlewares.iter().enumerate() {
            etcd.put(&format!("{router}/middlewares/{i}"), middleware, None)
                .await?;
        }
        put_health_check(etcd, &reg.service, "/health/ready").await?;
        if let Some(transport) = &reg.servers_transport {
            let key = format!(
                "{ROOT}/services/{}/loadBalancer/serversTransport",
                reg.service
            );
            etcd.put(&key, transport, None).await?;
        }
        etcd.put(
            &server_key(&reg.service, &reg.instance),
            &reg.url,
            Some(lease),
        )
        .await?;
    }
    // Once per process: the edge needs the process alive, not ready (its
    // pages read no database).
    if let Some(first) = regs.first() {
        put_health_check(etcd, EDGE_SERVICE, "/health/live").await?;
        etcd.put(
            &server_key(EDGE_SERVICE, &format!("edge-{}", first.instance)),
            &first.url,
            Some(lease),
        )
        .await?;
    }
    Ok(lease)
}

/// Registers the instance's services and keeps the lease alive until
/// `stop`, then revokes it (the instance leaves the gateway at once). When
/// etcd is unreachable the instance keeps serving: registration is retried
/// with backoff and `status` says it is down meanwhile.
pub async fn run_registration(
    etcd: Etcd,
    regs: Vec<Registration>,
    ttl_secs: u64,
    status: RegistryStatus,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(500);
    let heartbeat = Duration::from_millis(ttl_secs.max(1) * 1000 / 3);
    loop {
        let lease = tokio::select! {
            result = register(&etcd, &regs, ttl_secs) => result,
            () = stop.cancelled() => return,
        };
        let lease = match lease {
            Ok(lease) => {
                status.set(true);
                backoff = Duration::from_millis(500);
                tracing::info!(instance = %regs.first().map_or("", |r| r.instance.as_str()), lease, "registered in etcd");
                lease
            }
            Err(e) => {
                status.set(false);
                tracing::warn!(error.message = %e, retry_in_ms = backoff.as_millis() as u64, "registering in etcd failed");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {},
                    () = stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        loop {
            tokio::select! {
                () = tokio::time::sleep(heartbeat) => {},
                () = stop.cancelled() => {
                    status.set(false);
                    if let Err(e) = etcd.revoke(lease).await {
                        tracing::warn!(error.message = %e, "leaving etcd failed; the lease will expire");
                    }
                    return;
                }
            }
            match etcd.keep_alive(lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(lease, "etcd lease expired; registering again");
                    break;
                }
                Err(e) => {
                    status.set(false);
                    tracing::warn!(error.message = %e, "etcd keep-alive failed; registering again");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_keys_follow_traefiks_layout() {
        assert_eq!(path_rule(&["/api/v1/carts"]), "PathPrefix(`/api/v1/carts`)");
        assert_eq!(
            path_rule(&["/a", "/b"]),
            "PathPrefix(`/a`) || PathPrefix(`/b`)"
        );
        assert_eq!(
            server_key("catalog", "catalog-7"),
            "traefik/http/services/catalog/loadBalancer/servers/catalog-7/url"
        );
    }

    #[test]
    fn the_range_end_covers_exactly_the_prefix() {
        assert_eq!(prefix_end("ab"), b"ac".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
        assert_eq!(number(&json!("694d77aa9e38260f")), None);
        assert_eq!(number(&json!("7587")), Some(7587));
    }
}
