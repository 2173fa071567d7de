//! Service discovery through etcd, in the key layout Traefik's etcd
//! provider reads, so one registration serves both the gateway and the
//! services that call each other:
//!
//! - `traefik/http/routers/<service>/rule` and `.../service`: written
//!   without a lease (every instance of a service writes the same values);
//! - `traefik/http/services/<service>/loadBalancer/servers/<instance>/url`:
//!   one key per instance under a lease the instance keeps alive. A crashed
//!   instance drops out when its lease expires; a stopped one revokes it.
//!
//! etcd is reached through its v3 JSON gateway over HTTP (keys and values
//! base64), which every etcd since 3.4 serves on the client port.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

/// Root of Traefik's keys.
const ROOT: &str = "traefik/http";

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
        etcd.put(
            &server_key(&reg.service, &reg.instance),
            &reg.url,
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

/// The instances of a service, looked up in etcd (refreshed every few
/// seconds, served round-robin), with a configured URL as the fallback
/// while none is registered or etcd cannot be reached.
#[derive(Debug)]
pub struct Endpoints {
    service: String,
    etcd: Option<Etcd>,
    fallback: Option<String>,
    cache: RwLock<(Vec<String>, Option<Instant>)>,
    next: AtomicUsize,
}

/// How long a lookup is reused.
const REFRESH: Duration = Duration::from_secs(2);

impl Endpoints {
    /// Instances of `service` from `etcd`, else `fallback`.
    pub fn new(service: &str, etcd: Option<Etcd>, fallback: Option<String>) -> Self {
        Self {
            service: service.to_owned(),
            etcd,
            fallback: fallback.map(|f| f.trim_end_matches('/').to_owned()),
            cache: RwLock::new((Vec::new(), None)),
            next: AtomicUsize::new(0),
        }
    }

    /// One instance's base URL, or None if there is none anywhere.
    pub async fn pick(&self) -> Option<String> {
        let urls = self.current().await;
        if urls.is_empty() {
            return self.fallback.clone();
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % urls.len();
        Some(urls[i].clone())
    }

    async fn current(&self) -> Vec<String> {
        let Some(etcd) = &self.etcd else {
            return Vec::new();
        };
        {
            let cache = self.cache.read().await;
            if cache.1.is_some_and(|at| at.elapsed() < REFRESH) {
                return cache.0.clone();
            }
        }
        let prefix = format!("{ROOT}/services/{}/loadBalancer/servers/", self.service);
        let mut cache = self.cache.write().await;
        match etcd.prefix(&prefix).await {
            Ok(kvs) => {
                let mut urls: Vec<String> = kvs
                    .into_iter()
                    .filter(|(k, _)| k.ends_with("/url"))
                    .map(|(_, v)| v.trim_end_matches('/').to_owned())
                    .collect();
                urls.sort();
                *cache = (urls, Some(Instant::now()));
            }
            Err(e) => {
                // Keep serving from what was known; try again soon.
                tracing::warn!(service = %self.service, error.message = %e, "looking up instances in etcd failed");
                cache.1 = Some(Instant::now());
            }
        }
        cache.0.clone()
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

    #[tokio::test]
    async fn without_etcd_the_fallback_is_used() {
        let endpoints = Endpoints::new("cart", None, Some("http://cart:8080/".into()));
        assert_eq!(endpoints.pick().await.as_deref(), Some("http://cart:8080"));
        assert_eq!(Endpoints::new("cart", None, None).pick().await, None);
    }
}
