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
    collections::HashMap,
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

/// The gateway's health checks of a service's instances: actively at
/// `path`, and passively: an instance that fails requests three times in
/// ten seconds (no connection, no answer, a 5xx) gets none until the
/// active check passes again, so that retries do not go back to it.
async fn put_health_check(etcd: &Etcd, service: &str, path: &str) -> Result<(), EtcdError> {
    let balancer = format!("{ROOT}/services/{service}/loadBalancer");
    for (key, value) in [
        ("healthCheck/path", path),
        ("healthCheck/interval", HEALTH_INTERVAL),
        ("healthCheck/timeout", HEALTH_TIMEOUT),
        ("passiveHealthCheck/maxFailedAttempts", "3"),
        ("passiveHealthCheck/failureWindow", "10s"),
    ] {
        etcd.put(&format!("{balancer}/{key}"), value, None).await?;
    }
    Ok(())
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

/// The instances of a service, looked up in etcd (refreshed every few
/// seconds, served round-robin), with a configured URL as the fallback
/// while none is registered or etcd cannot be reached. An instance that
/// cannot be reached is ejected for a while (passive outlier detection):
/// the others get its share until it has had time to come back, and then
/// it is tried again.
#[derive(Debug)]
pub struct Endpoints {
    service: String,
    etcd: Option<Etcd>,
    fallback: Option<String>,
    cache: RwLock<(Vec<String>, Option<Instant>)>,
    next: AtomicUsize,
    ejected: std::sync::Mutex<HashMap<String, Instant>>,
}

/// How long a lookup is reused.
const REFRESH: Duration = Duration::from_secs(2);

/// How long an instance that could not be reached is left out.
const EJECTION: Duration = Duration::from_secs(5);

/// How long a peer call may take to connect: on one network a live
/// instance accepts in well under a millisecond, and a dead one (a killed
/// container answers nothing) should cost little before another is tried.
pub const PEER_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// A peer call that got no answer from any instance tried.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Nothing is registered and no URL is configured.
    #[error("no {0} instance is registered")]
    NoInstance(String),
    /// The last instance tried failed so.
    #[error("{0}")]
    Transport(reqwest::Error),
}

/// Whether a peer call may be sent again to another instance after it
/// failed in transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A read: again after any transport failure (within the time budget).
    Idempotent,
    /// A write: again only when it never reached the instance (the
    /// connection could not be made), so it cannot have taken effect.
    IfNotSent,
}

impl Endpoints {
    /// Instances of `service` from `etcd`, else `fallback`.
    pub fn new(service: &str, etcd: Option<Etcd>, fallback: Option<String>) -> Self {
        Self {
            service: service.to_owned(),
            etcd,
            fallback: fallback.map(|f| f.trim_end_matches('/').to_owned()),
            cache: RwLock::new((Vec::new(), None)),
            next: AtomicUsize::new(0),
            ejected: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// One instance's base URL, or None if there is none anywhere.
    pub async fn pick(&self) -> Option<String> {
        self.choose(&self.current().await, &[])
    }

    /// One of `urls` not yet `tried` (the fallback when there are none).
    /// Ejected instances are passed over while another is left; if every
    /// one is ejected they are tried anyway: better a chance than none.
    fn choose(&self, urls: &[String], tried: &[String]) -> Option<String> {
        if urls.is_empty() {
            return self.fallback.clone().filter(|f| !tried.contains(f));
        }
        let untried = || urls.iter().filter(|u| !tried.contains(u));
        let healthy: Vec<&String> = {
            let now = Instant::now();
            let mut ejected = self
                .ejected
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            ejected.retain(|_, until| *until > now);
            untried().filter(|u| !ejected.contains_key(*u)).collect()
        };
        let candidates = if healthy.is_empty() {
            untried().collect()
        } else {
            healthy
        };
        if candidates.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % candidates.len();
        Some(candidates[i].clone())
    }

    /// Leaves `url` out for a while.
    fn eject(&self, url: &str) {
        tracing::warn!(service = %self.service, instance = url, ejected_for_ms = EJECTION.as_millis() as u64, "peer instance unreachable; leaving it out");
        self.ejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(url.to_owned(), Instant::now() + EJECTION);
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
        let prefix = servers_prefix(&self.service);
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

/// Calls to one service's instances: where they are ([`Endpoints`]), one
/// HTTP client that connects within [`PEER_CONNECT_TIMEOUT`], and the time
/// a call may take, however many instances it tries.
#[derive(Debug)]
pub struct Peer {
    endpoints: Arc<Endpoints>,
    http: reqwest::Client,
    budget: Duration,
}

impl Peer {
    /// Calls to the instances `endpoints` finds, each within `budget`.
    pub fn new(endpoints: Arc<Endpoints>, budget: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(PEER_CONNECT_TIMEOUT)
            .build()?;
        Ok(Self {
            endpoints,
            http,
            budget,
        })
    }

    /// Sends `request(client, base_url)` to one instance, and to another
    /// (at most three in all) when one fails in transport and `retry`
    /// allows it; an instance that fails so is ejected. Attempts share the
    /// budget (a read gets an equal share per instance it may try).
    pub async fn send<F>(&self, retry: Retry, request: F) -> Result<reqwest::Response, PeerError>
    where
        F: Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    {
        let urls = self.endpoints.current().await;
        // Each instance at most once, three at most.
        let attempts = urls.len().clamp(1, 3);
        let per_attempt = match retry {
            Retry::Idempotent => self.budget / attempts as u32,
            Retry::IfNotSent => self.budget,
        };
        let started = Instant::now();
        let mut tried = Vec::new();
        loop {
            let Some(base) = self.endpoints.choose(&urls, &tried) else {
                return Err(PeerError::NoInstance(self.endpoints.service.clone()));
            };
            let left = self.budget.saturating_sub(started.elapsed());
            let attempt = request(&self.http, &base).timeout(per_attempt.min(left));
            match attempt.send().await {
                Ok(response) => return Ok(response),
                Err(e) => {
                    if e.is_connect() || e.is_timeout() {
                        self.endpoints.eject(&base);
                    }
                    tried.push(base);
                    let again = match retry {
                        Retry::Idempotent => e.is_connect() || e.is_timeout(),
                        Retry::IfNotSent => e.is_connect(),
                    };
                    if !again || tried.len() >= attempts || started.elapsed() >= self.budget {
                        return Err(PeerError::Transport(e));
                    }
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

    #[tokio::test]
    async fn without_etcd_the_fallback_is_used() {
        let endpoints = Endpoints::new("cart", None, Some("http://cart:8080/".into()));
        assert_eq!(endpoints.pick().await.as_deref(), Some("http://cart:8080"));
        assert_eq!(Endpoints::new("cart", None, None).pick().await, None);
    }
}
