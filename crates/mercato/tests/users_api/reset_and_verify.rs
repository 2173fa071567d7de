use serde_json::json;
use testkit::{Backend, GOOD_PASSWORD, TestApp, on_both_backends, spawn};

use crate::outbox_event;

on_both_backends!(
    a_password_reset_sets_a_new_password_and_ends_sessions,
    reset_requests_answer_the_same_for_unknown_emails,
    reset_tokens_are_single_use,
    expired_reset_tokens_are_refused,
    a_weak_new_password_is_refused_and_the_token_survives,
    email_verification_marks_the_address_verified_once,
    another_verification_mail_can_be_requested,
);

async fn reset_token(app: &TestApp, user_id: &str) -> String {
    let event = outbox_event(app, "user.password_reset_requested", user_id)
        .await
        .expect("reset event");
    event["data"]["reset_token"].as_str().unwrap().to_owned()
}

async fn a_password_reset_sets_a_new_password_and_ends_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("reset").await;
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": customer.email.to_uppercase()}),
    )
    .await
    .expect(202);
    let token = reset_token(&app, &customer.id).await;
    let new_password = "Brand-new-Sextant-88";
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": token, "new_password": new_password}),
    )
    .await
    .expect(204);
    app.login(&customer.email, GOOD_PASSWORD).await.problem(401);
    app.login(&customer.email, new_password).await.expect(200);
    // Whoever knew the old password lost their session too.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": customer.refresh}),
    )
    .await
    .problem(401);
}

async fn reset_requests_answer_the_same_for_unknown_emails(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post(
            "/api/v1/auth/password-reset",
            None,
            &json!({"email": "ghost@example.com"}),
        )
        .await;
    reply.expect(202);
    assert!(reply.text.is_empty());
    let db = app.database("users").await;
    let (count,): (i64,) = sqlx::query_as(
        "select count(*) from outbox where event_type = 'user.password_reset_requested'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(count, 0);
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": "nope"}),
    )
    .await
    .problem(422);
}

async fn reset_tokens_are_single_use(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("single").await;
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": customer.email}),
    )
    .await
    .expect(202);
    let token = reset_token(&app, &customer.id).await;
    let body = json!({"token": token, "new_password": "Brand-new-Sextant-88"});
    app.post("/api/v1/auth/password-reset/confirm", None, &body)
        .await
        .expect(204);
    let again = app
        .post("/api/v1/auth/password-reset/confirm", None, &body)
        .await;
    assert_eq!(again.problem(422)["code"], "IDN-0004");
    assert_eq!(again.error_fields(), ["token"]);
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": "made-up", "new_password": "Brand-new-Sextant-88"}),
    )
    .await
    .problem(422);
}

async fn expired_reset_tokens_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("expired").await;
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": customer.email}),
    )
    .await
    .expect(202);
    let token = reset_token(&app, &customer.id).await;
    let db = app.database("users").await;
    sqlx::query(
        "update one_time_token set expires_at = created_at - 1 where purpose = 'password_reset'",
    )
    .execute(db.pool())
    .await
    .unwrap();
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": token, "new_password": "Brand-new-Sextant-88"}),
    )
    .await
    .problem(422);
    app.login(&customer.email, GOOD_PASSWORD).await.expect(200);
}

async fn a_weak_new_password_is_refused_and_the_token_survives(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("weak").await;
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": customer.email}),
    )
    .await
    .expect(202);
    let token = reset_token(&app, &customer.id).await;
    let reply = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": "password1"}),
        )
        .await;
    reply.problem(422);
    assert_eq!(reply.error_fields(), ["new_password"]);
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({"token": token, "new_password": "Brand-new-Sextant-88"}),
    )
    .await
    .expect(204);
}

async fn email_verification_marks_the_address_verified_once(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("verify").await;
    let event = outbox_event(&app, "user.registered", &customer.id)
        .await
        .unwrap();
    let token = event["data"]["verification_token"].as_str().unwrap();
    app.post("/api/v1/auth/verify-email", None, &json!({"token": token}))
        .await
        .expect(204);
    let me = app.get("/api/v1/users/me", Some(&customer.access)).await;
    assert_eq!(me.body["email_verified"], true);
    app.post("/api/v1/auth/verify-email", None, &json!({"token": token}))
        .await
        .problem(422);
    app.post(
        "/api/v1/auth/verify-email",
        None,
        &json!({"token": "bogus"}),
    )
    .await
    .problem(422);
}

async fn another_verification_mail_can_be_requested(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("again").await;
    app.post(
        "/api/v1/users/me/email-verification",
        Some(&customer.access),
        &json!({}),
    )
    .await
    .expect(202);
    let event = outbox_event(&app, "user.email_verification_requested", &customer.id)
        .await
        .expect("event");
    let token = event["data"]["verification_token"].as_str().unwrap();
    app.post("/api/v1/auth/verify-email", None, &json!({"token": token}))
        .await
        .expect(204);
    app.post(
        "/api/v1/users/me/email-verification",
        Some(&customer.access),
        &json!({}),
    )
    .await
    .problem(409);
}
