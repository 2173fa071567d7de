use serde_json::json;
use testkit::{Backend, GOOD_PASSWORD, on_both_backends, spawn};

on_both_backends!(
    the_profile_can_change_name_and_phone,
    invalid_profile_fields_are_refused,
    profile_routes_need_a_token,
    changing_the_password_keeps_this_session_and_ends_the_others,
    a_wrong_current_password_is_forbidden,
);

async fn the_profile_can_change_name_and_phone(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("profile").await;
    let reply = app
        .patch(
            "/api/v1/users/me",
            Some(&customer.access),
            &json!({"name": " Ada King ", "phone": "+44 20 7946 0958"}),
        )
        .await;
    reply.expect(200);
    assert_eq!(reply.body["name"], "Ada King");
    assert_eq!(reply.body["phone"], "+442079460958");
    // Absent fields stay; null removes the phone.
    let reply = app
        .patch(
            "/api/v1/users/me",
            Some(&customer.access),
            &json!({"phone": null}),
        )
        .await;
    assert_eq!(reply.body["name"], "Ada King");
    assert_eq!(reply.body["phone"], serde_json::Value::Null);
    let me = app.get("/api/v1/users/me", Some(&customer.access)).await;
    assert_eq!(me.body["name"], "Ada King");
}

async fn invalid_profile_fields_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("badprofile").await;
    let reply = app
        .patch(
            "/api/v1/users/me",
            Some(&customer.access),
            &json!({"name": "", "phone": "12"}),
        )
        .await;
    reply.problem(422);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, ["name", "phone"]);
    for forbidden in [
        json!({"role": "admin"}),
        json!({"email": "new@example.com"}),
        json!({"email_verified": true}),
    ] {
        let reply = app
            .patch("/api/v1/users/me", Some(&customer.access), &forbidden)
            .await;
        reply.problem(422);
    }
    let me = app.get("/api/v1/users/me", Some(&customer.access)).await;
    assert_eq!(me.body["role"], "customer");
    assert_eq!(me.body["email"], customer.email);
}

async fn profile_routes_need_a_token(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app.get("/api/v1/users/me", None).await;
    reply.problem(401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    app.get("/api/v1/users/me", Some("not.a.jwt"))
        .await
        .problem(401);
    let raw = app
        .client
        .get(format!("{}/api/v1/users/me", app.base))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
}

async fn changing_the_password_keeps_this_session_and_ends_the_others(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("change").await;
    let other = app.login(&customer.email, GOOD_PASSWORD).await;
    let new_password = "Brand-new-Sextant-88";
    app.post(
        "/api/v1/users/me/password",
        Some(&customer.access),
        &json!({"current_password": GOOD_PASSWORD, "new_password": new_password}),
    )
    .await
    .expect(204);
    let other_refresh = other.body["refresh_token"].as_str().unwrap();
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": other_refresh}),
    )
    .await
    .problem(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": customer.refresh}),
    )
    .await
    .expect(200);
    app.login(&customer.email, GOOD_PASSWORD).await.problem(401);
    app.login(&customer.email, new_password).await.expect(200);
}

async fn a_wrong_current_password_is_forbidden(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("wrongcurrent").await;
    let reply = app
        .post(
            "/api/v1/users/me/password",
            Some(&customer.access),
            &json!({"current_password": "not-my-password-x", "new_password": "Brand-new-Sextant-88"}),
        )
        .await;
    assert_eq!(reply.problem(403)["code"], "IDN-0005");
    let reply = app
        .post(
            "/api/v1/users/me/password",
            Some(&customer.access),
            &json!({"current_password": GOOD_PASSWORD, "new_password": "abc"}),
        )
        .await;
    reply.problem(422);
    assert_eq!(reply.error_fields(), ["new_password"]);
    app.login(&customer.email, GOOD_PASSWORD).await.expect(200);
}
