use serde_json::json;
use testkit::{Backend, on_both_backends, spawn};

on_both_backends!(
    refreshing_rotates_the_pair,
    a_reused_refresh_token_revokes_its_whole_family,
    logout_ends_the_session_only,
    a_disabled_user_cannot_refresh,
    garbage_refresh_tokens_are_refused,
);

async fn refreshing_rotates_the_pair(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("rotate").await;
    let reply = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": customer.refresh}),
        )
        .await;
    reply.expect(200);
    let new_refresh = reply.body["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, customer.refresh);
    assert_eq!(reply.body["expires_in"], 900);
    app.get("/api/v1/users/me", reply.body["access_token"].as_str())
        .await
        .expect(200);
    // The new one works once more.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": new_refresh}),
    )
    .await
    .expect(200);
}

async fn a_reused_refresh_token_revokes_its_whole_family(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("reuse").await;
    let first = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": customer.refresh}),
        )
        .await;
    first.expect(200);
    let successor = first.body["refresh_token"].as_str().unwrap().to_owned();

    // The old token again: a thief or a replay. 401, and the family dies.
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": customer.refresh}),
        )
        .await;
    assert_eq!(replay.problem(401)["code"], "IDN-0003");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": successor}),
    )
    .await
    .problem(401);

    // Another session of the same user is untouched.
    let other = app.login(&customer.email, testkit::GOOD_PASSWORD).await;
    let other_refresh = other.body["refresh_token"].as_str().unwrap();
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": other_refresh}),
    )
    .await
    .expect(200);
}

async fn logout_ends_the_session_only(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("logout").await;
    let second = app.login(&customer.email, testkit::GOOD_PASSWORD).await;
    app.post(
        "/api/v1/auth/logout",
        None,
        &json!({"refresh_token": customer.refresh}),
    )
    .await
    .expect(204);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": customer.refresh}),
    )
    .await
    .problem(401);
    let second_refresh = second.body["refresh_token"].as_str().unwrap();
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": second_refresh}),
    )
    .await
    .expect(200);
    // Logging out twice, or with an unknown token, is harmless.
    app.post(
        "/api/v1/auth/logout",
        None,
        &json!({"refresh_token": customer.refresh}),
    )
    .await
    .expect(204);
    app.post(
        "/api/v1/auth/logout",
        None,
        &json!({"refresh_token": "nonsense"}),
    )
    .await
    .expect(204);
}

async fn a_disabled_user_cannot_refresh(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("disable").await;
    let admin = app.admin_token().await;
    app.patch(
        &format!("/api/v1/users/{}", customer.id),
        Some(&admin),
        &json!({"disabled": true}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": customer.refresh}),
    )
    .await
    .problem(401);
    // Its still-unexpired access token no longer reaches its account either.
    app.get("/api/v1/users/me", Some(&customer.access))
        .await
        .problem(401);
    // Re-enabled, it can log in again; the old sessions stay revoked.
    app.patch(
        &format!("/api/v1/users/{}", customer.id),
        Some(&admin),
        &json!({"disabled": false}),
    )
    .await
    .expect(200);
    app.login(&customer.email, testkit::GOOD_PASSWORD)
        .await
        .expect(200);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": customer.refresh}),
    )
    .await
    .problem(401);
}

async fn garbage_refresh_tokens_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": "x"}))
        .await
        .problem(401);
    app.post("/api/v1/auth/refresh", None, &json!({}))
        .await
        .problem(422);
}
