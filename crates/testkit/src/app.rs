//! The app harness: the real Mercato app on port 0 and a client for it.

use std::{sync::Arc, time::Duration};

use mercato::App;
pub use mercato::{Config, Target};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, GOOD_PASSWORD, overrides, quick_redelivery};

/// A running app and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The client.
    pub client: reqwest::Client,
    /// The configuration it runs with.
    pub config: Config,
    /// The engine.
    pub backend: Backend,
    /// The event bus the app publishes to.
    pub bus: Arc<dyn eventbus::EventBus>,
    shutdown: CancellationToken,
    _data: tempfile::TempDir,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// `draft` (hidden from shoppers), `active` or `archived`.
    pub status: StatusCode,
    /// All response headers.
    pub headers: HeaderMap,
    /// Body as JSON (Null when empty or not JSON).
    pub body: Value,
    /// Body as text.
    pub text: String,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem+json error with this status, and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("https://"))
        );
        assert!(self.body["title"].is_string());
        assert_eq!(
            self.body["request_id"].as_str(),
            self.header("x-request-id")
        );
        &self.body
    }

    /// The fields named in a 422 problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Test configuration: the defaults with a temporary data folder, cheap
/// argon2 (the real cost is measured by the benchmark) and the test admin.
pub fn test_config(backend: Backend, data_dir: &std::path::Path) -> Config {
    let mut overrides = overrides(backend, data_dir);
    overrides.extend([
        ("http.listen", "127.0.0.1:0".to_owned()),
        ("users.argon2_memory_kib", "256".to_owned()),
        ("users.argon2_iterations", "1".to_owned()),
        ("users.admin_email", ADMIN_EMAIL.to_owned()),
        ("users.admin_password", ADMIN_PASSWORD.to_owned()),
        ("catalog.demo_products", "0".to_owned()),
    ]);
    let mut cfg = match Config::load(None, &overrides) {
        Ok(cfg) => cfg,
        Err(e) => panic!("test configuration: {e:#}"),
    };
    quick_redelivery(&mut cfg.eventbus);
    cfg
}

/// Starts the whole app on `backend`.
pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// Starts the whole app after `adjust` has changed the configuration.
pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_targets(backend, Target::ALL, adjust).await
}

/// Starts only `targets` (as one process of the distributed mode would).
pub async fn spawn_targets(
    backend: Backend,
    targets: &[Target],
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(backend, data.path());
    adjust(&mut config);
    let app = App::build(&config, targets).await.expect("app builds");
    let bus = app.bus();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let shutdown = CancellationToken::new();
    // A generous drain: a slow test machine must not cut an in-flight request.
    tokio::spawn(app.serve(listener, shutdown.clone(), Duration::from_secs(10)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    TestApp {
        base,
        client,
        config,
        backend,
        bus,
        shutdown,
        _data: data,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A logged-in customer.
#[derive(Debug, Clone)]
pub struct Customer {
    /// User id.
    pub id: String,
    /// The address it registered with.
    pub email: String,
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
}

impl TestApp {
    /// A client of another address (a gateway in front of several
    /// processes) with this app's configuration, for the same helpers.
    pub fn pointed_at(&self, base: &str) -> TestApp {
        TestApp {
            base: base.trim_end_matches('/').to_owned(),
            client: self.client.clone(),
            config: self.config.clone(),
            backend: self.backend,
            bus: self.bus.clone(),
            shutdown: CancellationToken::new(),
            _data: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The same client, every request carrying `headers` too (a trace's
    /// `traceparent`).
    pub fn with_headers(&self, headers: reqwest::header::HeaderMap) -> TestApp {
        let mut app = self.pointed_at(&self.base);
        app.client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("client");
        app
    }

    /// The same client in a trace of its own, as a browser with tracing
    /// would be: every request carries one `traceparent`. Returns the
    /// client and the trace id.
    pub fn in_new_trace(&self) -> (TestApp, String) {
        let trace = uuid::Uuid::new_v4().simple().to_string();
        let mut headers = reqwest::header::HeaderMap::new();
        let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
        headers.insert(
            "traceparent",
            traceparent.parse().expect("a valid traceparent"),
        );
        (self.with_headers(headers), trace)
    }

    /// Starts a graceful shutdown, as SIGTERM does.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// POST of exactly these bytes as JSON with extra headers (a webhook,
    /// whose signature covers the raw body).
    pub async fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.body(body).send().await.expect("request sent")).await
    }

    /// POST with a JSON body and extra headers (such as `Idempotency-Key`).
    pub async fn post_with(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Reply {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// GET.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// PATCH with a JSON body.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Registers a customer with a fresh email based on `tag`.
    pub async fn register(&self, tag: &str) -> Customer {
        let email = format!(
            "{tag}-{}@example.com",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let reply = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({"email": email, "password": GOOD_PASSWORD, "name": tag}),
            )
            .await;
        reply.expect(201);
        Customer {
            id: reply.body["user"]["id"].as_str().expect("id").to_owned(),
            email,
            access: reply.body["access_token"]
                .as_str()
                .expect("access")
                .to_owned(),
            refresh: reply.body["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        }
    }

    /// Logs in and returns the reply.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// An access token of the bootstrap admin.
    pub async fn admin_token(&self) -> String {
        let reply = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        reply.expect(200);
        reply.body["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// A direct connection to a service's database, for checks a client
    /// cannot make (outbox rows, stored hashes).
    pub async fn database(&self, service: &str) -> platform::db::Db {
        platform::db::Db::connect(service, None, &self.config.database)
            .await
            .expect("db")
    }
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// Sends `n` requests at once (`request(i)` builds the i-th) and returns
/// the answers in order; fails the test if any is a 5xx, which a burst at
/// one resource must never produce.
pub async fn burst<F, Fut>(n: usize, request: F) -> Vec<Reply>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let replies = futures::future::join_all((0..n).map(request)).await;
    for reply in &replies {
        assert!(
            reply.status.as_u16() < 500,
            "a parallel request failed with {}: {}",
            reply.status,
            reply.text
        );
    }
    replies
}

/// How many of `replies` have this status.
pub fn count_status(replies: &[Reply], status: u16) -> usize {
    replies
        .iter()
        .filter(|r| r.status.as_u16() == status)
        .count()
}
