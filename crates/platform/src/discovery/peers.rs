//! Calling another service: its instances as discovery lists them, with
//! the ones that failed set aside for a while, and one client that tries
//! another instance when it may.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::RwLock;

use super::{Etcd, servers_prefix};

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
    /// It answered, but not with a success: its status and, when it sent a
    /// problem document, what that says.
    #[error("answered {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Answered {
        /// The HTTP status.
        status: u16,
        /// The problem's title and detail, if it sent one.
        detail: Option<String>,
    },
}

impl PeerError {
    /// The error for a peer's answer that is not a success (reads its
    /// problem document, if it is one).
    pub async fn answered(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let is_problem = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
        let detail = if is_problem {
            response
                .json::<serde_json::Value>()
                .await
                .ok()
                .map(|problem| problem_text(&problem))
        } else {
            None
        };
        Self::Answered { status, detail }
    }
}

/// `title: detail` of a problem document (either may be missing).
fn problem_text(problem: &serde_json::Value) -> String {
    let part = |key| problem.get(key).and_then(serde_json::Value::as_str);
    match (part("title"), part("detail")) {
        (Some(title), Some(detail)) => format!("{title}: {detail}"),
        (Some(text), None) | (None, Some(text)) => text.to_owned(),
        (None, None) => "a problem without a title".to_owned(),
    }
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
        tracing::warn!(peer.service = %self.service, instance = url, ejected_for_ms = EJECTION.as_millis() as u64, "peer instance unreachable; leaving it out");
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
                tracing::warn!(peer.service = %self.service, error.message = %e, "looking up instances in etcd failed");
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
        use tracing::Instrument as _;
        let service = &self.endpoints.service;
        let span = tracing::info_span!(
            "peer.call",
            peer.service = %service,
            otel.name = %format_args!("call {service}"),
            otel.kind = "client",
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let result = self.attempts(retry, request).instrument(span.clone()).await;
        match &result {
            Ok(response) => {
                span.record("http.response.status_code", response.status().as_u16());
                if response.status().is_server_error() {
                    span.record("otel.status_code", "ERROR");
                }
            }
            Err(_) => {
                span.record("otel.status_code", "ERROR");
            }
        }
        result
    }

    async fn attempts<F>(&self, retry: Retry, request: F) -> Result<reqwest::Response, PeerError>
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
        // The call continues the trace of the request or event it serves,
        // under this call's span.
        let traceparent = crate::telemetry::outgoing_traceparent();
        let started = Instant::now();
        let mut tried = Vec::new();
        loop {
            let Some(base) = self.endpoints.choose(&urls, &tried) else {
                return Err(PeerError::NoInstance(self.endpoints.service.clone()));
            };
            let left = self.budget.saturating_sub(started.elapsed());
            let mut attempt = request(&self.http, &base).timeout(per_attempt.min(left));
            if let Some(traceparent) = &traceparent {
                attempt = attempt.header("traceparent", traceparent);
            }
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
    fn a_peers_problem_is_told_by_its_title_and_detail() {
        let both = serde_json::json!({"title": "Out of stock", "detail": "Only 2 left."});
        assert_eq!(problem_text(&both), "Out of stock: Only 2 left.");
        assert_eq!(problem_text(&serde_json::json!({"title": "Gone"})), "Gone");
        assert_eq!(
            problem_text(&serde_json::json!({})),
            "a problem without a title"
        );
        let error = PeerError::Answered {
            status: 503,
            detail: Some("Unavailable".into()),
        };
        assert_eq!(error.to_string(), "answered 503: Unavailable");
    }

    #[tokio::test]
    async fn without_etcd_the_fallback_is_used() {
        let endpoints = Endpoints::new("cart", None, Some("http://cart:8080/".into()));
        assert_eq!(endpoints.pick().await.as_deref(), Some("http://cart:8080"));
        assert_eq!(Endpoints::new("cart", None, None).pick().await, None);
    }
}
