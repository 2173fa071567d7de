use serde_json::json;
use testkit::{Backend, on_both_backends, spawn};

use crate::{category, create, product};

on_both_backends!(
    categories_form_a_tree_admins_manage,
    category_errors_are_problems,
    categories_in_use_cannot_be_deleted,
);

async fn categories_form_a_tree_admins_manage(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let clothes = category(&app, &admin, "clothes", None).await;
    let shirts = category(&app, &admin, "shirts", Some(&clothes)).await;
    let list = app.get("/api/v1/categories", None).await;
    list.expect(200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let shirt = items.iter().find(|c| c["slug"] == "shirts").unwrap();
    assert_eq!(shirt["parent_id"], clothes.as_str());

    let renamed = app
        .patch(
            &format!("/api/v1/categories/{shirts}"),
            Some(&admin),
            &json!({"name": "Shirts", "parent_id": null}),
        )
        .await;
    renamed.expect(200);
    assert_eq!(renamed.body["name"], "Shirts");
    assert_eq!(renamed.body["parent_id"], serde_json::Value::Null);
    app.delete(&format!("/api/v1/categories/{shirts}"), Some(&admin))
        .await
        .expect(204);
    app.delete(&format!("/api/v1/categories/{shirts}"), Some(&admin))
        .await
        .problem(404);
}

async fn category_errors_are_problems(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let customer = app.register("shopper").await;
    app.post(
        "/api/v1/categories",
        Some(&customer.access),
        &json!({"slug": "x", "name": "X"}),
    )
    .await
    .problem(403);
    app.post(
        "/api/v1/categories",
        None,
        &json!({"slug": "x", "name": "X"}),
    )
    .await
    .problem(401);
    let root = category(&app, &admin, "root", None).await;
    let taken = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            &json!({"slug": "root", "name": "Again"}),
        )
        .await;
    assert_eq!(taken.problem(409)["code"], "CAT-0001");
    let bad = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            &json!({"slug": "Bad Slug", "name": ""}),
        )
        .await;
    bad.problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["name", "slug"]);
    let orphan = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            &json!({"slug": "orphan", "name": "O", "parent_id": uuid::Uuid::now_v7()}),
        )
        .await;
    orphan.problem(422);
    assert_eq!(orphan.error_fields(), ["parent_id"]);
    // A category cannot move under its own descendant.
    let child = category(&app, &admin, "child", Some(&root)).await;
    let cycle = app
        .patch(
            &format!("/api/v1/categories/{root}"),
            Some(&admin),
            &json!({"parent_id": child}),
        )
        .await;
    cycle.problem(422);
    app.patch(
        &format!("/api/v1/categories/{}", uuid::Uuid::now_v7()),
        Some(&admin),
        &json!({"name": "N"}),
    )
    .await
    .problem(404);
}

async fn categories_in_use_cannot_be_deleted(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let parent = category(&app, &admin, "parent", None).await;
    let leaf = category(&app, &admin, "leaf", Some(&parent)).await;
    assert_eq!(
        app.delete(&format!("/api/v1/categories/{parent}"), Some(&admin))
            .await
            .problem(409)["code"],
        "CAT-0003"
    );
    let mut body = product("tee", "Tee", &[("TEE-1", 1500, 3)]);
    body["category_ids"] = json!([leaf]);
    create(&app, &admin, &body).await;
    app.delete(&format!("/api/v1/categories/{leaf}"), Some(&admin))
        .await
        .problem(409);
}
