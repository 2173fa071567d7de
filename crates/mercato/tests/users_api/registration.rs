use serde_json::json;
use testkit::{Backend, GOOD_PASSWORD, on_both_backends, spawn};

use crate::outbox_event;

on_both_backends!(
    registering_returns_a_session_and_the_user,
    emails_are_unique_regardless_of_case,
    invalid_fields_are_each_named,
    common_passwords_are_refused_with_a_reason,
    a_role_in_the_body_is_refused,
    registration_announces_the_user_with_a_verification_token,
);

async fn registering_returns_a_session_and_the_user(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": " Ada@Example.COM ", "password": GOOD_PASSWORD, "name": "Ada"}),
        )
        .await;
    reply.expect(201);
    let user = &reply.body["user"];
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada");
    assert_eq!(user["role"], "customer");
    assert_eq!(user["email_verified"], false);
    assert_eq!(reply.body["expires_in"], 900);
    assert!(reply.body["refresh_token"].as_str().unwrap().len() >= 40);

    let me = app
        .get("/api/v1/users/me", reply.body["access_token"].as_str())
        .await;
    me.expect(200);
    assert_eq!(me.body["id"], user["id"]);
    for field in [
        "id",
        "email",
        "name",
        "phone",
        "role",
        "email_verified",
        "created_at",
    ] {
        assert!(me.body.get(field).is_some(), "missing {field}");
    }
}

async fn emails_are_unique_regardless_of_case(backend: Backend) {
    let app = spawn(backend).await;
    let first = app.register("dup").await;
    let reply = app
        .post("/api/v1/auth/register", None, &json!({"email": first.email.to_uppercase(), "password": GOOD_PASSWORD, "name": "Again"}))
        .await;
    assert_eq!(reply.problem(409)["code"], "IDN-0001");
}

async fn invalid_fields_are_each_named(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "not-an-email", "password": "short", "name": "  "}),
        )
        .await;
    reply.problem(422);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, ["email", "name", "password"]);

    let long = "x".repeat(129);
    let reply = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "a@example.com", "password": long, "name": "A"}),
        )
        .await;
    reply.problem(422);
    assert_eq!(reply.error_fields(), ["password"]);

    let reply = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "a@example.com", "name": "A"}),
        )
        .await;
    reply.problem(422);
    assert_eq!(reply.error_fields(), ["password"]);
}

async fn common_passwords_are_refused_with_a_reason(backend: Backend) {
    let app = spawn(backend).await;
    for weak in ["password123", "qwertyuiop", "11111111"] {
        let reply = app
            .post(
                "/api/v1/auth/register",
                None,
                &json!({"email": "weak@example.com", "password": weak, "name": "W"}),
            )
            .await;
        reply.problem(422);
        let message = reply.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("too easy to guess"), "{weak}: {message}");
    }
}

async fn a_role_in_the_body_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post("/api/v1/auth/register", None, &json!({"email": "mallory@example.com", "password": GOOD_PASSWORD, "name": "M", "role": "admin"}))
        .await;
    reply.problem(422);
    assert_eq!(reply.error_fields(), ["role"]);
    // Nothing was created: the same email registers normally afterwards.
    let reply = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "mallory@example.com", "password": GOOD_PASSWORD, "name": "M"}),
        )
        .await;
    reply.expect(201);
    assert_eq!(reply.body["user"]["role"], "customer");
}

async fn registration_announces_the_user_with_a_verification_token(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("announce").await;
    let event = outbox_event(&app, "user.registered", &customer.id)
        .await
        .expect("event in outbox");
    assert_eq!(event["type"], "user.registered");
    assert_eq!(event["source"], "users");
    assert_eq!(event["data"]["user_id"], customer.id);
    assert_eq!(event["data"]["email"], customer.email);
    assert!(
        event["data"]["verification_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 40)
    );
    assert!(
        event["id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );
}
