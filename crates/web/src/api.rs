//! The storefront's only way to the shop: the public API, as any client
//! sees it. In the all-in-one process a call is dispatched in-process to
//! the services' router (same layers, same logs and metrics, no socket);
//! in the distributed mode it goes over HTTP through the gateway. Either
//! way it carries the customer's token, address and request id.

use std::{net::IpAddr, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::ConnectInfo,
    http::{HeaderValue, Method, Request, StatusCode, header},
};
use http_body_util::BodyExt as _;
use serde::{Serialize, de::DeserializeOwned};
use tower::ServiceExt as _;

use crate::models::ApiProblem;

/// API answers larger than this are refused (a product list is ~100 KiB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Where API calls go.
#[derive(Clone)]
pub enum Backend {
    /// The services' router in this process.
    InProcess(axum::Router),
    /// The gateway (or any server of the API) at `base`.
    Http {
        /// A pooled client with the call timeout.
        client: reqwest::Client,
        /// e.g. `http://traefik:80`, without a trailing slash.
        base: String,
    },
}

impl Backend {
    /// The gateway at `base`, each call limited to `timeout`.
    pub fn http(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self::Http {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .pool_idle_timeout(Duration::from_secs(30))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }
}

/// Who a call is made for.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The customer's access token, if logged in.
    pub token: Option<String>,
    /// The customer's address, for the API's per-address limits.
    pub client_ip: Option<IpAddr>,
    /// The page request's id, so that its API calls log under it.
    pub request_id: Option<String>,
}

/// Why a call failed.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The API answered with a problem (4xx or 5xx).
    Problem(ApiProblem),
    /// The API could not be reached or answered something unreadable.
    Unavailable(String),
}

impl ApiError {
    /// The HTTP status of the problem; 502 when there was none.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Problem(p) => StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY),
            Self::Unavailable(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// True for a 404 (unknown, unpublished or someone else's).
    pub fn is_not_found(&self) -> bool {
        self.status() == StatusCode::NOT_FOUND
    }

    /// True for a 401 (no token, or an expired or revoked one).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == StatusCode::UNAUTHORIZED
    }

    /// The problem, if the API answered with one.
    pub fn problem(&self) -> Option<&ApiProblem> {
        match self {
            Self::Problem(p) => Some(p),
            Self::Unavailable(_) => None,
        }
    }

    /// One sentence for a person.
    pub fn message(&self) -> String {
        match self {
            Self::Problem(p) => p.message(),
            Self::Unavailable(_) => {
                "The shop cannot be reached just now. Please try again in a moment.".to_owned()
            }
        }
    }
}

/// A call's answer, read whole.
struct Reply {
    status: StatusCode,
    body: Bytes,
}

/// The public API.
#[derive(Clone)]
pub struct Api {
    backend: Backend,
}

impl Api {
    /// A client of `backend`.
    pub fn new(backend: Backend) -> Self {
        Self { backend }
    }

    /// `GET path` (path and query), as JSON.
    pub async fn get<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        path: &str,
    ) -> Result<T, ApiError> {
        let reply = self.call(caller, Method::GET, path, None, None).await?;
        decode(reply)
    }

    /// `method path` with a JSON body, answered with JSON.
    pub async fn send<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_vec(body).map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let reply = self.call(caller, method, path, Some(body), None).await?;
        decode(reply)
    }

    /// `DELETE path`, answered with JSON.
    pub async fn delete<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        path: &str,
    ) -> Result<T, ApiError> {
        let reply = self.call(caller, Method::DELETE, path, None, None).await?;
        decode(reply)
    }

    /// `POST path` with an `Idempotency-Key`.
    pub async fn send_idempotent<T: DeserializeOwned>(
        &self,
        caller: &Caller,
        path: &str,
        body: &impl Serialize,
        key: &str,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_vec(body).map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let reply = self
            .call(caller, Method::POST, path, Some(body), Some(key))
            .await?;
        decode(reply)
    }

    /// `GET path` as text (the Prometheus exposition of `/metrics`).
    pub async fn text(&self, caller: &Caller, path: &str) -> Result<String, ApiError> {
        let reply = self.call(caller, Method::GET, path, None, None).await?;
        String::from_utf8(reply.body.to_vec()).map_err(|e| ApiError::Unavailable(e.to_string()))
    }

    /// True when the API is this process's own router (the all-in-one
    /// server): its `/metrics` are every service's.
    pub fn is_in_process(&self) -> bool {
        matches!(self.backend, Backend::InProcess(_))
    }

    /// A call whose success has no body worth reading (204, 202).
    pub async fn execute(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(), ApiError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        self.call(caller, method, path, body, None)
            .await
            .map(|_| ())
    }

    async fn call(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let reply = match &self.backend {
            Backend::InProcess(router) => {
                let mut builder = Request::builder().method(method).uri(path);
                builder = headers(builder, caller, idempotency_key, body.is_some());
                let mut request = builder
                    .body(body.map_or_else(Body::empty, Body::from))
                    .map_err(|e| ApiError::Unavailable(e.to_string()))?;
                if let Some(ip) = caller.client_ip {
                    // As if the customer had called the API themselves.
                    request
                        .extensions_mut()
                        .insert(ConnectInfo(std::net::SocketAddr::new(ip, 0)));
                }
                let response = match router.clone().oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                let status = response.status();
                let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
                    .collect()
                    .await
                    .map_err(|e| ApiError::Unavailable(e.to_string()))?
                    .to_bytes();
                Reply { status, body }
            }
            Backend::Http { client, base } => {
                let mut request = client.request(method, format!("{base}{path}"));
                if let Some(token) = &caller.token {
                    request = request.bearer_auth(token);
                }
                if let Some(ip) = caller.client_ip {
                    // The gateway appends this hop; the services believe the
                    // entry left of it when the web tier is a trusted proxy.
                    request = request.header("x-forwarded-for", ip.to_string());
                }
                if let Some(id) = &caller.request_id {
                    request = request.header("x-request-id", id);
                }
                if let Some(key) = idempotency_key {
                    request = request.header("idempotency-key", key);
                }
                if let Some(body) = body {
                    request = request
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(body);
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| ApiError::Unavailable(e.to_string()))?;
                let status = response.status();
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| ApiError::Unavailable(e.to_string()))?;
                Reply { status, body }
            }
        };
        if reply.status.is_client_error() || reply.status.is_server_error() {
            let problem = serde_json::from_slice::<ApiProblem>(&reply.body)
                .unwrap_or_else(|_| ApiProblem::bare(reply.status.as_u16()));
            return Err(ApiError::Problem(problem));
        }
        Ok(reply)
    }
}

fn headers(
    mut builder: axum::http::request::Builder,
    caller: &Caller,
    idempotency_key: Option<&str>,
    json: bool,
) -> axum::http::request::Builder {
    if let Some(token) = &caller.token
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    if let Some(id) = &caller.request_id {
        builder = builder.header("x-request-id", id.as_str());
    }
    if let Some(key) = idempotency_key {
        builder = builder.header("idempotency-key", key);
    }
    if json {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    builder
}

fn decode<T: DeserializeOwned>(reply: Reply) -> Result<T, ApiError> {
    let body = if reply.body.is_empty() {
        &b"null"[..]
    } else {
        &reply.body[..]
    };
    serde_json::from_slice(body).map_err(|e| {
        tracing::warn!(error = %e, status = reply.status.as_u16(), "the API answered something the storefront cannot read");
        ApiError::Unavailable(e.to_string())
    })
}
