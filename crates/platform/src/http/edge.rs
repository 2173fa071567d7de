//! The gateway's own pages, served by every instance that registers in
//! etcd (the Traefik service [`EDGE_SERVICE`]), so that the edge speaks the
//! API's contract without a process of its own:
//!
//! - `/_edge/problems/{status}`: the problem document Traefik's errors
//!   middleware (`mercato-problems`) puts in place of its own plain-text
//!   413, 502, 503 and 504 (no healthy instance, none answered in time);
//! - `/_edge/openapi.json`: the merged document of every service, read
//!   from one live instance of each (the gateway's `/openapi.json`);
//! - `/_edge/health`: whether every service has a live instance (the
//!   gateway's `/health/ready`).
//!
//! [`EDGE_SERVICE`]: crate::discovery::EDGE_SERVICE

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::problem::Problem;
use crate::discovery::{Etcd, servers_prefix};

/// How long the merged document is reused before it is read again.
const DOCUMENT_TTL: Duration = Duration::from_secs(30);

/// What the edge pages need.
pub struct EdgeState {
    etcd: Etcd,
    services: Vec<String>,
    http: reqwest::Client,
    document: Mutex<Option<(Instant, Value)>>,
}

impl EdgeState {
    /// The edge of the services named in `services`, found through `etcd`.
    pub fn new(etcd: Etcd, services: Vec<String>) -> anyhow::Result<Self> {
        Ok(Self {
            etcd,
            services,
            http: reqwest::Client::builder()
                .connect_timeout(crate::discovery::PEER_CONNECT_TIMEOUT)
                .timeout(Duration::from_secs(2))
                .build()?,
            document: Mutex::new(None),
        })
    }
}

/// The routes under `/_edge`.
pub fn router(state: EdgeState) -> Router {
    Router::new()
        .route("/_edge/problems/{status}", get(problem))
        .route("/_edge/openapi.json", get(openapi))
        .route("/_edge/health", get(health))
        .with_state(Arc::new(state))
}

/// The problem for a status the gateway produced itself (a request that
/// found no instance, or none that answered, may be sent again shortly).
async fn problem(Path(status): Path<u16>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    Problem::from_status(status).into_response()
}

/// Every service's document, merged; a service with no live instance is
/// left out (and the result not kept, so the next request tries again).
async fn openapi(State(edge): State<Arc<EdgeState>>) -> Response {
    let mut cached = edge.document.lock().await;
    if let Some((at, doc)) = cached.as_ref()
        && at.elapsed() < DOCUMENT_TTL
    {
        return Json(doc.clone()).into_response();
    }
    let parts =
        futures::future::join_all(edge.services.iter().map(|s| service_document(&edge, s))).await;
    let complete = parts.iter().all(Option::is_some);
    let Some(doc) = parts.into_iter().flatten().reduce(merge_documents) else {
        return Problem::unavailable("No service has a live instance.").into_response();
    };
    if complete {
        *cached = Some((Instant::now(), doc.clone()));
    }
    Json(doc).into_response()
}

/// One live instance's `/openapi.json` of `service`.
async fn service_document(edge: &EdgeState, service: &str) -> Option<Value> {
    let servers = edge.etcd.prefix(&servers_prefix(service)).await.ok()?;
    for (_, base) in servers {
        let url = format!("{}/openapi.json", base.trim_end_matches('/'));
        match edge.http.get(&url).send().await {
            Ok(r) if r.status().is_success() => {
                if let Ok(doc) = r.json::<Value>().await {
                    return Some(doc);
                }
            }
            Ok(r) => tracing::warn!(
                peer.service = service,
                url.full = url,
                http.response.status_code = r.status().as_u16(),
                "reading a service's OpenAPI document failed"
            ),
            Err(e) => {
                tracing::warn!(peer.service = service, url.full = url, error.message = %e, "reading a service's OpenAPI document failed")
            }
        }
    }
    None
}

/// `other` merged into `into`: paths, components and tags side by side
/// (the services own disjoint paths and share the schemas of platform).
fn merge_documents(mut into: Value, other: Value) -> Value {
    let Value::Object(other) = other else {
        return into;
    };
    if let Some(paths) = other.get("paths").and_then(Value::as_object) {
        extend(&mut into, "/paths", paths);
    }
    if let Some(components) = other.get("components").and_then(Value::as_object) {
        for (kind, entries) in components {
            if let Some(entries) = entries.as_object() {
                extend(&mut into, &format!("/components/{kind}"), entries);
            }
        }
    }
    if let Some(tags) = other.get("tags").and_then(Value::as_array) {
        if !into["tags"].is_array() {
            into["tags"] = json!([]);
        }
        if let Some(mine) = into["tags"].as_array_mut() {
            for tag in tags {
                if !mine.iter().any(|t| t["name"] == tag["name"]) {
                    mine.push(tag.clone());
                }
            }
        }
    }
    into
}

/// Adds every entry of `from` to the object at `pointer` in `doc`,
/// creating it if missing.
fn extend(doc: &mut Value, pointer: &str, from: &Map<String, Value>) {
    let mut at = &mut *doc;
    for part in pointer.split('/').skip(1) {
        if !at.is_object() {
            *at = json!({});
        }
        at = &mut at[part];
    }
    if !at.is_object() {
        *at = json!({});
    }
    if let Some(target) = at.as_object_mut() {
        for (key, value) in from {
            target.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
}

/// 200 with each service's live instance count while every service has
/// one, else 503 naming those without.
async fn health(State(edge): State<Arc<EdgeState>>) -> Response {
    let counts = futures::future::join_all(edge.services.iter().map(|service| async {
        let count = edge
            .etcd
            .prefix(&servers_prefix(service))
            .await
            .map(|s| s.len());
        (service.clone(), count)
    }))
    .await;
    let mut services = Map::new();
    let mut missing = Vec::new();
    for (service, count) in counts {
        match count {
            Ok(n) => {
                if n == 0 {
                    missing.push(service.clone());
                }
                services.insert(service, json!(n));
            }
            Err(_) => {
                return Problem::unavailable("The service registry cannot be reached.")
                    .into_response();
            }
        }
    }
    if missing.is_empty() {
        Json(json!({"status": "up", "instances": services})).into_response()
    } else {
        let mut problem =
            Problem::unavailable(format!("No live instance of {}.", missing.join(", ")))
                .with("instances", Value::Object(services));
        problem.retry_after = Some(2);
        problem.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_merge_paths_components_and_tags() {
        let a = json!({"openapi": "3.1.0", "paths": {"/a": {}}, "components": {"schemas": {"Problem": {"x": 1}, "A": {}}}, "tags": [{"name": "a"}]});
        let b = json!({"paths": {"/b": {}}, "components": {"schemas": {"Problem": {"x": 2}, "B": {}}, "securitySchemes": {"bearer": {}}}, "tags": [{"name": "a"}, {"name": "b"}]});
        let merged = merge_documents(a, b);
        assert_eq!(merged["openapi"], "3.1.0");
        assert!(merged["paths"]["/a"].is_object() && merged["paths"]["/b"].is_object());
        assert_eq!(
            merged["components"]["schemas"]["Problem"]["x"], 1,
            "the first wins"
        );
        assert!(merged["components"]["schemas"]["B"].is_object());
        assert!(merged["components"]["securitySchemes"]["bearer"].is_object());
        assert_eq!(merged["tags"], json!([{"name": "a"}, {"name": "b"}]));
    }

    #[test]
    fn gateway_problems_say_when_to_come_back() {
        for status in [502, 503, 504] {
            let p = Problem::from_status(StatusCode::from_u16(status).unwrap_or_default());
            assert_eq!(p.status, status);
            assert_eq!(p.retry_after, Some(2));
        }
        let too_large = Problem::from_status(StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(too_large.status, 413);
        assert_eq!(too_large.retry_after, None);
    }
}
