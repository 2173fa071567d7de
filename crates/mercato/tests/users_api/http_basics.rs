//! The platform's HTTP behaviour as a client sees it on the users routes.

use serde_json::json;
use testkit::{Backend, on_both_backends, spawn};

on_both_backends!(
    malformed_json_is_a_bad_request,
    syntax_is_checked_before_fields_and_bodies_are_objects,
    a_wrong_content_type_is_unsupported,
    bodies_over_one_mebibyte_are_too_large,
    request_ids_are_echoed_or_generated,
    unknown_routes_and_methods_are_problems,
    health_reports_the_database,
    metrics_count_requests_per_route,
    openapi_and_docs_are_served_offline,
    a_broken_database_is_an_opaque_500,
    in_flight_requests_finish_during_shutdown,
);

async fn malformed_json_is_a_bad_request(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    assert_eq!(reply.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["status"], 400);
}

async fn syntax_is_checked_before_fields_and_bodies_are_objects(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("shapes").await;
    let send = |method: reqwest::Method, path: &str, body: &'static str, token: Option<&str>| {
        let mut request = app
            .client
            .request(method, format!("{}{path}", app.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    // Malformed: 400, even where an unknown field or a wrong type comes
    // before the syntax error.
    for (path, body) in [
        ("/api/v1/auth/register", r#"{"email": "a@b.c",}"#),
        ("/api/v1/auth/login", "[1, 2"),
        ("/api/v1/auth/login", r#"{"email": "\x"}"#),
        ("/api/v1/carts", r#"{"email": "a@b.c",}"#),
        ("/api/v1/carts", r#"{"currency": 7, "#),
    ] {
        let reply = send(reqwest::Method::POST, path, body, None).await.unwrap();
        assert_eq!(reply.status(), 400, "{path} {body}");
    }
    // Well-formed but not an object: 422, also where every field is optional.
    for body in ["[]", "[{\"name\": \"x\"}]", "\"name\"", "null", "3"] {
        let reply = send(
            reqwest::Method::PATCH,
            "/api/v1/users/me",
            body,
            Some(&customer.access),
        )
        .await
        .unwrap();
        assert_eq!(reply.status(), 422, "PATCH /users/me {body}");
    }
    let reply = send(reqwest::Method::POST, "/api/v1/carts", "[]", None)
        .await
        .unwrap();
    assert_eq!(reply.status(), 422);
    let me = app.get("/api/v1/users/me", Some(&customer.access)).await;
    assert_eq!(me.body["name"], "shapes", "nothing changed");
}

async fn a_wrong_content_type_is_unsupported(backend: Backend) {
    let app = spawn(backend).await;
    for content_type in [Some("text/plain"), None] {
        let mut request = app
            .client
            .post(format!("{}/api/v1/auth/login", app.base))
            .body(r#"{"email":"a@b.co","password":"x"}"#);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), 415);
        assert_eq!(reply.headers()["content-type"], "application/problem+json");
    }
}

async fn bodies_over_one_mebibyte_are_too_large(backend: Backend) {
    let app = spawn(backend).await;
    let big = json!({"email": "a@example.com", "password": "x".repeat(1024 * 1024), "name": "A"});
    let reply = app.post("/api/v1/auth/register", None, &big).await;
    reply.problem(413);
    // Just under the limit is parsed (and refused for its content, not its size).
    let under = json!({"email": "a@example.com", "password": "x".repeat(1000 * 1000), "name": "A"});
    app.post("/api/v1/auth/register", None, &under)
        .await
        .problem(422);
}

async fn request_ids_are_echoed_or_generated(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .client
        .get(format!("{}/api/v1/users/me", app.base))
        .header("x-request-id", "client-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.headers()["x-request-id"], "client-abc-123");
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["request_id"], "client-abc-123");
    let reply = app.get("/health/live", None).await;
    let generated = reply.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok());
    // An unusable id (spaces, too long) is replaced, not echoed.
    let reply = app
        .client
        .get(format!("{}/health/live", app.base))
        .header("x-request-id", "a b")
        .send()
        .await
        .unwrap();
    assert_ne!(reply.headers()["x-request-id"], "a b");
}

async fn unknown_routes_and_methods_are_problems(backend: Backend) {
    let app = spawn(backend).await;
    app.get("/api/v1/nothing-here", None).await.problem(404);
    let reply = app
        .call(reqwest::Method::DELETE, "/api/v1/auth/login", None, None)
        .await;
    reply.problem(405);
    assert!(reply.header("allow").is_some_and(|a| a.contains("POST")));
}

async fn health_reports_the_database(backend: Backend) {
    let app = spawn(backend).await;
    app.get("/health/live", None).await.expect(200);
    let ready = app.get("/health/ready", None).await;
    ready.expect(200);
    let checks: Vec<(&str, &str)> = ready.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert!(checks.contains(&("users.database", "up")), "{checks:?}");
    assert!(
        checks.contains(&("eventbus.in-process", "up")),
        "{checks:?}"
    );
}

async fn metrics_count_requests_per_route(backend: Backend) {
    let app = spawn(backend).await;
    app.get("/api/v1/users/me", None).await.problem(401);
    let metrics = app.get("/metrics", None).await;
    metrics.expect(200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let line = metrics
        .text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total")
                && l.contains("route=\"/api/v1/users/me\"")
                && l.contains("status=\"401\"")
        })
        .unwrap_or_else(|| panic!("no request counter in:\n{}", metrics.text));
    assert!(
        line.ends_with(" 1") || line.split(' ').next_back().unwrap().parse::<f64>().unwrap() >= 1.0
    );
    assert!(
        metrics
            .text
            .contains("http_request_duration_seconds_bucket")
    );
    assert!(
        metrics.text.contains("process_resident_memory_bytes"),
        "process metrics missing"
    );
}

async fn openapi_and_docs_are_served_offline(backend: Backend) {
    let app = spawn(backend).await;
    let spec = app.get("/openapi.json", None).await;
    spec.expect(200);
    let paths = spec.body["paths"].as_object().unwrap();
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/users/me",
        "/api/v1/users/{id}",
        "/.well-known/jwks.json",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(spec.body["components"]["schemas"].get("Problem").is_some());
    let docs = app
        .client
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    assert!(
        !html.contains("cdn") && !html.contains("unpkg"),
        "docs must not load assets from a CDN"
    );
    let bundle = app
        .client
        .get(format!("{}/docs/swagger-ui-bundle.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
}

async fn a_broken_database_is_an_opaque_500(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("sabotage").await;
    let db = app.database("users").await;
    sqlx::query("drop table address")
        .execute(db.pool())
        .await
        .unwrap();
    let reply = app
        .get("/api/v1/users/me/addresses", Some(&customer.access))
        .await;
    let body = reply.problem(500);
    let text = body.to_string().to_lowercase();
    for leak in ["address", "sqlx", "table", "sqlite", "postgres"] {
        assert!(!text.contains(leak), "the 500 leaks {leak}: {text}");
    }
    // The rest of the service keeps working.
    app.get("/api/v1/users/me", Some(&customer.access))
        .await
        .expect(200);
}

async fn in_flight_requests_finish_during_shutdown(backend: Backend) {
    // A deliberately slow hash keeps a login in flight while shutdown starts.
    let app = testkit::spawn_with(backend, |cfg| {
        cfg.users.argon2_memory_kib = 64 * 1024;
        cfg.users.argon2_iterations = 8;
    })
    .await;
    let customer = app.register("drain").await;
    let login = app.login(&customer.email, testkit::GOOD_PASSWORD);
    let shutdown = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        app.begin_shutdown();
    };
    let (reply, ()) = tokio::join!(login, shutdown);
    reply.expect(200);
    // New connections are refused once it has drained.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        app.client
            .get(format!("{}/health/live", app.base))
            .send()
            .await
            .is_err()
    );
}
