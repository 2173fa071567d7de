//! Serving: the operational routes every process exposes, and the HTTP
//! server with bounded graceful shutdown.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::State,
    response::{IntoResponse, Response},
    routing::get,
};
use futures::future::BoxFuture;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa_swagger_ui::SwaggerUi;

/// A named readiness probe (a database, the event bus).
#[derive(Clone)]
pub struct ReadinessCheck {
    /// What is checked, e.g. `users.database`.
    pub name: String,
    /// Resolves to true when the dependency answers.
    pub probe: Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>,
    /// Whether the instance can serve without it. A non-critical check
    /// that is down is reported but does not make the answer a 503 (the
    /// service registry: requests still work while it is away).
    pub critical: bool,
}

impl std::fmt::Debug for ReadinessCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadinessCheck")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    checks: Vec<CheckResult>,
}

#[derive(Serialize)]
struct CheckResult {
    name: String,
    status: &'static str,
}

/// `/health/live`, `/health/ready`, `/metrics`, `/openapi.json` and `/docs`.
pub fn ops_router(checks: Vec<ReadinessCheck>, openapi: utoipa::openapi::OpenApi) -> Router {
    Router::new()
        .route(
            "/health/live",
            get(|| async { Json(serde_json::json!({"status": "up"})) }),
        )
        .route("/health/ready", get(ready).with_state(Arc::new(checks)))
        .route("/metrics", get(crate::metrics::render))
        .merge(
            SwaggerUi::new("/docs")
                .external_url_unchecked("/openapi.json", super::openapi::complete(&openapi)),
        )
}

async fn ready(State(checks): State<Arc<Vec<ReadinessCheck>>>) -> Response {
    let results = futures::future::join_all(checks.iter().map(|check| async move {
        let ok = tokio::time::timeout(Duration::from_secs(2), (check.probe)())
            .await
            .unwrap_or(false);
        // Seen by Prometheus at its next scrape: a check that keeps failing
        // alerts (ReadinessFailing) even while the instance still answers.
        metrics::gauge!("health_check_up", "check" => check.name.clone()).set(if ok {
            1.0
        } else {
            0.0
        });
        CheckResult {
            name: check.name.clone(),
            status: if ok { "up" } else { "down" },
        }
    }))
    .await;
    let down: Vec<&str> = results
        .iter()
        .zip(checks.iter())
        .filter(|(r, c)| r.status == "down" && c.critical)
        .map(|(r, _)| r.name.as_str())
        .collect();
    if down.is_empty() {
        let degraded = results.iter().any(|r| r.status == "down");
        Json(Health {
            status: if degraded { "degraded" } else { "up" },
            checks: results,
        })
        .into_response()
    } else {
        super::problem::Problem::unavailable(format!("Not ready: {} down.", down.join(", ")))
            .into_response()
    }
}

/// Succeeds if `url` answers 2xx within 3 s: the images' health checks
/// (`mercato healthcheck`, `mercato-autoscaler --healthcheck`), which have
/// no shell to run curl in.
pub async fn healthcheck(url: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    Ok(())
}

/// Serves `router` until `shutdown` is cancelled, then lets in-flight
/// requests finish for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result?,
        () = deadline => tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests outlived the grace period; closing them"),
    }
    Ok(())
}
