use serde_json::{Value, json};
use testkit::{ADMIN_EMAIL, Backend, on_both_backends, spawn};

on_both_backends!(
    customers_cannot_use_admin_routes,
    admins_list_users_with_an_email_filter_and_cursor_pages,
    bad_page_parameters_are_refused,
    admins_get_and_promote_users,
    admins_cannot_lock_themselves_out,
);

async fn customers_cannot_use_admin_routes(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("nosy").await;
    app.get("/api/v1/users", Some(&customer.access))
        .await
        .problem(403);
    app.get(
        &format!("/api/v1/users/{}", customer.id),
        Some(&customer.access),
    )
    .await
    .problem(403);
    app.patch(
        &format!("/api/v1/users/{}", customer.id),
        Some(&customer.access),
        &json!({"role": "admin"}),
    )
    .await
    .problem(403);
    let reply = app.get("/api/v1/users", None).await;
    reply.problem(401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
}

async fn admins_list_users_with_an_email_filter_and_cursor_pages(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.register("paged").await.id);
    }
    app.register("other").await;

    let filtered = app.get("/api/v1/users?email=PAGED", Some(&admin)).await;
    filtered.expect(200);
    assert_eq!(filtered.body["items"].as_array().unwrap().len(), 3);

    // Pages of two, newest first, stable while someone registers meanwhile.
    let first = app
        .get("/api/v1/users?email=paged&limit=2", Some(&admin))
        .await;
    let page: Vec<&str> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    app.register("paged").await;
    let second = app
        .get(
            &format!("/api/v1/users?email=paged&limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    let page: Vec<&str> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[0].as_str()]);
    assert_eq!(second.body["next_cursor"], Value::Null);

    // Pattern characters are literal.
    let none = app.get("/api/v1/users?email=%25", Some(&admin)).await;
    assert_eq!(none.body["items"].as_array().unwrap().len(), 0);
}

async fn bad_page_parameters_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "cursor=%%%",
        "cursor=bm90LWEtY3Vyc29y",
    ] {
        let reply = app
            .get(&format!("/api/v1/users?{query}"), Some(&admin))
            .await;
        reply.problem(422);
    }
}

async fn admins_get_and_promote_users(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let customer = app.register("promote").await;
    let reply = app
        .get(&format!("/api/v1/users/{}", customer.id), Some(&admin))
        .await;
    reply.expect(200);
    assert_eq!(reply.body["email"], customer.email);
    app.get(
        &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
        Some(&admin),
    )
    .await
    .problem(404);

    let reply = app
        .patch(
            &format!("/api/v1/users/{}", customer.id),
            Some(&admin),
            &json!({"role": "admin"}),
        )
        .await;
    reply.expect(200);
    assert_eq!(reply.body["role"], "admin");
    // New tokens carry the new role.
    let login = app.login(&customer.email, testkit::GOOD_PASSWORD).await;
    app.get("/api/v1/users", login.body["access_token"].as_str())
        .await
        .expect(200);

    app.patch(
        &format!("/api/v1/users/{}", customer.id),
        Some(&admin),
        &json!({"role": "root"}),
    )
    .await
    .problem(422);
    app.patch(
        &format!("/api/v1/users/{}", customer.id),
        Some(&admin),
        &json!({"email": "x@example.com"}),
    )
    .await
    .problem(422);
}

async fn admins_cannot_lock_themselves_out(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/users/me", Some(&admin)).await;
    assert_eq!(me.body["email"], ADMIN_EMAIL);
    let id = me.body["id"].as_str().unwrap();
    let path = format!("/api/v1/users/{id}");
    assert_eq!(
        app.patch(&path, Some(&admin), &json!({"disabled": true}))
            .await
            .problem(409)["code"],
        "IDN-0008"
    );
    app.patch(&path, Some(&admin), &json!({"role": "customer"}))
        .await
        .problem(409);
    app.get("/api/v1/users", Some(&admin)).await.expect(200);
}
