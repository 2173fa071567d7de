//! The middleware stack every service router is wrapped in.
//!
//! Outermost first: `observe` (request id, trace id, client address, span,
//! access log, RED metrics, problem+json for every error), body limit, CORS,
//! panic catcher, request timeout.

use std::{
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    timeout::TimeoutLayer,
};
use tracing::Instrument as _;

use super::{
    PROBLEM_JSON,
    extract::{ClientIp, RequestId},
    problem::Problem,
};
use crate::config::HttpConfig;

/// `X-Request-Id`.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Settings the `observe` layer needs per request.
#[derive(Debug, Clone)]
struct ObserveSettings {
    /// Whose `X-Forwarded-For` is believed; empty: nobody's.
    trusted_proxies: std::sync::Arc<[ipnet::IpNet]>,
}

/// Wraps a service router in the standard stack.
pub fn apply(router: Router, cfg: &HttpConfig) -> Router {
    let settings = ObserveSettings {
        trusted_proxies: if cfg.trust_forwarded_for {
            cfg.trusted_proxies.clone().into()
        } else {
            std::sync::Arc::new([])
        },
    };
    let mut router = router
        // The server's own deadline: a 503 to try again, not a 408, which
        // says the client was too slow to send its request.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(cfg.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            Problem::internal().into_response()
        }));
    if let Some(cors) = cors_layer(&cfg.cors_origins) {
        router = router.layer(cors);
    }
    router
        .layer(middleware::from_fn(refuse_nul_in_path))
        .layer(DefaultBodyLimit::max(cfg.body_limit_bytes))
        .layer(middleware::from_fn_with_state(settings, observe))
}

/// A path holding an encoded NUL (`%00`) names nothing: no id, slug or SKU
/// can hold one (and PostgreSQL could not even compare it).
async fn refuse_nul_in_path(req: Request, next: Next) -> Response {
    if req.uri().path().contains("%00") {
        return Problem::not_found("No such resource.").into_response();
    }
    next.run(req).await
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_NONE_MATCH,
                X_REQUEST_ID.clone(),
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                X_REQUEST_ID.clone(),
                header::ETAG,
                header::RETRY_AFTER,
                header::LOCATION,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

async fn observe(
    State(settings): State<ObserveSettings>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable_request_id(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let client_ip = client_ip(&req, &settings.trusted_proxies);
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());

    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(ClientIp(client_ip));

    let span = tracing::info_span!(
        "http.request",
        http.request.method = %method,
        url.path = %req.uri().path(),
        http.route = %route,
        http.request.id = %request_id,
        trace.id = tracing::field::Empty,
        client.address = client_ip.map(tracing::field::display),
        user.id = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
    );
    let trace_id = crate::telemetry::continue_trace(&span, traceparent.as_deref(), || {
        uuid::Uuid::new_v4().simple().to_string()
    });
    span.record("trace.id", trace_id.as_str());
    let response =
        crate::telemetry::with_trace_id(trace_id, next.run(req).instrument(span.clone())).await;
    let mut response = finish_problem(response, &request_id);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }

    let status = response.status();
    let elapsed = started.elapsed();
    crate::metrics::record_request(method.as_str(), &route, status.as_u16(), elapsed);
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    span.in_scope(|| {
        let duration_ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        if status.is_server_error() {
            tracing::warn!(
                http.response.status_code = status.as_u16(),
                event.duration = duration_ns,
                "request failed"
            );
        } else {
            tracing::info!(
                http.response.status_code = status.as_u16(),
                event.duration = duration_ns,
                "request completed"
            );
        }
    });
    response
}

/// Gives every error response a problem+json body carrying the request id,
/// including the bare statuses produced by the framework and layers; a
/// page's own HTML error (the storefront's 404) is left as it is.
fn finish_problem(response: Response, request_id: &str) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_html(&response) {
        return response;
    }
    let mut problem = match response.extensions().get::<Problem>() {
        Some(problem) => problem.clone(),
        None if is_problem_json(&response) => return response,
        None => Problem::from_status(status),
    };
    problem.request_id = Some(request_id.to_owned());
    let (parts, _) = response.into_parts();
    let mut rendered = problem.render();
    // Keep headers a layer set for a reason (Allow on 405, CORS headers).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered
                .headers_mut()
                .entry(name)
                .or_insert_with(|| value.clone());
        }
    }
    rendered
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

fn is_problem_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

fn is_acceptable_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

fn client_ip(req: &Request, trusted_proxies: &[ipnet::IpNet]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())?;
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(client_behind(peer, forwarded, trusted_proxies))
}

/// The client address: the peer, unless it is a trusted proxy; then the
/// right-most `X-Forwarded-For` entry that is not one (every proxy
/// appends the address it was reached from, so entries left of the first
/// untrusted one are whatever the client chose to send). A malformed entry
/// ends the walk at the address that sent it.
fn client_behind<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let entries: Vec<&str> = forwarded.flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, routing::get};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    #[test]
    fn the_client_is_the_right_most_address_no_trusted_proxy_added() {
        let gateways: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let behind = |peer: &str, header: &[&str]| {
            client_behind(ip(peer), header.iter().copied(), &gateways).to_string()
        };
        // Straight from a client: its own address, whatever it claims.
        assert_eq!(behind("203.0.113.9", &["198.51.100.1"]), "203.0.113.9");
        // Through the gateway: the address the gateway saw.
        assert_eq!(behind("10.0.0.2", &["203.0.113.9"]), "203.0.113.9");
        // A forged entry on the left is not believed.
        assert_eq!(behind("10.0.0.2", &["6.6.6.6, 203.0.113.9"]), "203.0.113.9");
        // Two gateways in a row, and the header split over two lines.
        assert_eq!(
            behind("10.0.0.2", &["203.0.113.9, 10.0.0.7", "10.0.0.8"]),
            "203.0.113.9"
        );
        // Nothing but gateways, or garbage: the last gateway's view.
        assert_eq!(behind("10.0.0.2", &["10.0.0.3"]), "10.0.0.3");
        assert_eq!(behind("10.0.0.2", &["not-an-ip"]), "10.0.0.2");
        assert_eq!(behind("10.0.0.2", &[]), "10.0.0.2");
        // Trusting no one: the peer.
        assert_eq!(
            client_behind(ip("10.0.0.2"), ["203.0.113.9"].into_iter(), &[]).to_string(),
            "10.0.0.2"
        );
    }

    fn app() -> Router {
        let cfg = HttpConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            request_timeout_secs: 1,
            body_limit_bytes: 1024 * 1024,
            cors_origins: vec!["https://shop.example.com".into()],
            shutdown_grace_secs: 1,
            trust_forwarded_for: true,
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        };
        let router = Router::new()
            .route(
                "/ok",
                get(|ClientIp(ip): ClientIp| async move { format!("{ip:?}") }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/panic",
                get(|| async {
                    if true {
                        panic!("boom");
                    }
                    "unreachable"
                }),
            );
        apply(router, &cfg)
    }

    async fn send(request: Request) -> (Response, serde_json::Value) {
        let response = app().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (Response::from_parts(parts, Body::empty()), json)
    }

    fn get_request(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_request_past_the_timeout_is_a_503_problem_with_retry_after() {
        let (response, body) = send(get_request("/slow")).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(body["status"], 503);
        assert_eq!(body["code"], "GEN-0503");
        assert_eq!(
            body["request_id"],
            response.headers()[&X_REQUEST_ID].to_str().unwrap()
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_is_an_opaque_500_problem() {
        let (response, body) = send(get_request("/panic")).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["status"], 500);
        assert!(!body.to_string().contains("boom"));
    }

    #[tokio::test]
    async fn cors_allows_configured_origins_only() {
        let preflight = |origin: &str| {
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/ok")
                .header(header::ORIGIN, origin)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
                .body(Body::empty())
                .unwrap()
        };
        let (allowed, _) = send(preflight("https://shop.example.com")).await;
        assert_eq!(
            allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://shop.example.com"
        );
        let (denied, _) = send(preflight("https://evil.example.com")).await;
        assert!(
            denied
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_trusted_forwarded_for_names_the_client() {
        let seen = |peer: [u8; 4], forwarded: &'static str| async move {
            let request = Request::builder()
                .uri("/ok")
                .header("x-forwarded-for", forwarded)
                .extension(ConnectInfo(SocketAddr::from((peer, 5000))))
                .body(Body::empty())
                .unwrap();
            let response = app().oneshot(request).await.unwrap();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        // From the gateway (127.0.0.0/8 here): the address it appended.
        assert_eq!(
            seen([127, 0, 0, 1], "203.0.113.7").await,
            "Some(203.0.113.7)"
        );
        assert_eq!(
            seen([127, 0, 0, 1], "6.6.6.6, 203.0.113.7").await,
            "Some(203.0.113.7)"
        );
        // From anyone else: the peer itself, whatever it claims.
        assert_eq!(seen([10, 0, 0, 9], "203.0.113.7").await, "Some(10.0.0.9)");
    }

    #[test]
    fn request_ids_must_be_short_and_printable() {
        assert!(is_acceptable_request_id("abc-123"));
        assert!(!is_acceptable_request_id(""));
        assert!(!is_acceptable_request_id("has space"));
        assert!(!is_acceptable_request_id(&"x".repeat(129)));
    }
}
