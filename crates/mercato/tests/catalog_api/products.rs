use serde_json::json;
use testkit::{Backend, on_both_backends, spawn};

use crate::{create, product};

on_both_backends!(
    a_product_is_created_with_variants_and_read_by_id_or_slug,
    product_validation_names_every_bad_field,
    slugs_and_skus_are_unique,
    drafts_and_archived_products_are_hidden_from_the_public,
    detail_has_a_strong_etag_and_answers_304,
    a_price_change_publishes_product_updated,
    variants_keep_their_ids_and_stock_across_edits,
    a_product_without_a_status_is_published_and_attributes_take_any_json,
);

async fn a_product_without_a_status_is_published_and_attributes_take_any_json(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let body = json!({"slug": "plain", "name": "Plain",
        "attributes": {"weight_kg": 1.25, "organic": true, "tags": ["a", "b"]},
        "variants": [{"sku": "PLAIN-1", "title": "One", "price": {"amount": 100, "currency": "USD"}}]});
    let created = create(&app, &admin, &body).await;
    assert_eq!(created["status"], "published");
    assert_eq!(created["attributes"]["weight_kg"], 1.25);
    let public = app.get("/api/v1/products/plain", None).await;
    public.expect(200);
    assert_eq!(public.body["attributes"]["tags"], json!(["a", "b"]));
    assert_eq!(public.body["variants"][0]["available"], 0);
}

async fn a_product_is_created_with_variants_and_read_by_id_or_slug(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        &product(
            "linen-shirt",
            "Linen shirt",
            &[("LS-S", 3900, 5), ("LS-M", 4900, 0)],
        ),
    )
    .await;
    assert_eq!(created["status"], "published");
    assert_eq!(
        created["variants"][0]["price"],
        json!({"amount": 3900, "currency": "USD"})
    );
    assert_eq!(created["variants"][0]["available"], 5);
    assert_eq!(created["variants"][1]["available"], 0);
    assert_eq!(created["price_from"]["amount"], 3900);
    for key in [
        "id",
        "slug",
        "name",
        "description",
        "status",
        "category_ids",
        "images",
        "attributes",
        "variants",
        "created_at",
        "updated_at",
    ] {
        assert!(created.get(key).is_some(), "missing {key}");
    }
    let id = created["id"].as_str().unwrap();
    let by_id = app.get(&format!("/api/v1/products/{id}"), None).await;
    by_id.expect(200);
    let by_slug = app.get("/api/v1/products/linen-shirt", None).await;
    assert_eq!(by_id.body, by_slug.body);
    app.get("/api/v1/products/no-such-thing", None)
        .await
        .problem(404);
}

async fn product_validation_names_every_bad_field(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let customer = app.register("customer").await;
    app.post(
        "/api/v1/products",
        Some(&customer.access),
        &product("p", "P", &[("P-1", 100, 1)]),
    )
    .await
    .problem(403);

    let mut body = product("Bad Slug", "", &[("ok-1", 0, 1)]);
    body["variants"][0]["price"]["currency"] = json!("DOLLARS");
    let reply = app.post("/api/v1/products", Some(&admin), &body).await;
    reply.problem(422);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "name",
            "slug",
            "variants.0.price.amount",
            "variants.0.price.currency"
        ]
    );

    let no_variants = app
        .post(
            "/api/v1/products",
            Some(&admin),
            &product("empty", "Empty", &[]),
        )
        .await;
    no_variants.problem(422);
    assert_eq!(no_variants.error_fields(), ["variants"]);
    let mut unknown_category = product("lost", "Lost", &[("L-1", 100, 0)]);
    unknown_category["category_ids"] = json!([uuid::Uuid::now_v7()]);
    let reply = app
        .post("/api/v1/products", Some(&admin), &unknown_category)
        .await;
    assert_eq!(reply.problem(422)["errors"][0]["field"], "category_ids.0");
    let mut sneaky = product("sneaky", "Sneaky", &[("S-1", 100, 0)]);
    sneaky["variants"][0]["available"] = json!(1000);
    app.post("/api/v1/products", Some(&admin), &sneaky)
        .await
        .problem(422);
    let long = product(&"a".repeat(101), "Long", &[("LONG-1", 100, 0)]);
    app.post("/api/v1/products", Some(&admin), &long)
        .await
        .problem(422);
}

async fn slugs_and_skus_are_unique(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    create(&app, &admin, &product("mug", "Mug", &[("MUG-1", 900, 1)])).await;
    let slug = app
        .post(
            "/api/v1/products",
            Some(&admin),
            &product("mug", "Mug 2", &[("MUG-2", 900, 1)]),
        )
        .await;
    assert_eq!(slug.problem(409)["code"], "CAT-0001");
    let sku = app
        .post(
            "/api/v1/products",
            Some(&admin),
            &product("mug-2", "Mug 2", &[("MUG-1", 900, 1)]),
        )
        .await;
    assert_eq!(sku.problem(409)["code"], "CAT-0002");
    // Neither failed attempt left anything behind.
    app.get("/api/v1/products/mug-2", None).await.problem(404);
}

async fn drafts_and_archived_products_are_hidden_from_the_public(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let mut body = product("secret", "Secret", &[("SEC-1", 100, 1)]);
    body["status"] = json!("draft");
    let draft = create(&app, &admin, &body).await;
    let id = draft["id"].as_str().unwrap();
    app.get("/api/v1/products/secret", None).await.problem(404);
    let customer = app.register("curious").await;
    app.get("/api/v1/products/secret", Some(&customer.access))
        .await
        .problem(404);
    let seen = app.get("/api/v1/products/secret", Some(&admin)).await;
    seen.expect(200);
    assert_eq!(seen.header("cache-control"), Some("private, no-store"));
    assert_eq!(
        app.get("/api/v1/products", None).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    app.patch(
        &format!("/api/v1/products/{id}"),
        Some(&admin),
        &json!({"status": "published"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/products/secret", None).await.expect(200);
    app.delete(&format!("/api/v1/products/{id}"), Some(&admin))
        .await
        .expect(204);
    app.get("/api/v1/products/secret", None).await.problem(404);
    assert_eq!(
        app.get("/api/v1/products/secret", Some(&admin)).await.body["status"],
        "archived"
    );
    app.delete(
        &format!("/api/v1/products/{}", uuid::Uuid::now_v7()),
        Some(&admin),
    )
    .await
    .problem(404);
}

async fn detail_has_a_strong_etag_and_answers_304(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        &product("lamp", "Lamp", &[("LAMP-1", 2500, 2)]),
    )
    .await;
    let first = app.get("/api/v1/products/lamp", None).await;
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    assert!(
        first
            .header("cache-control")
            .unwrap()
            .starts_with("public, max-age=")
    );
    let again = app
        .client
        .get(format!("{}/api/v1/products/lamp", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    // A change makes the old tag stale.
    let id = created["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/products/{id}"),
        Some(&admin),
        &json!({"name": "Desk lamp"}),
    )
    .await
    .expect(200);
    let changed = app
        .client
        .get(format!("{}/api/v1/products/lamp", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let list = app.get("/api/v1/products", None).await;
    assert!(list.header("etag").is_some());
}

async fn a_price_change_publishes_product_updated(backend: Backend) {
    use sqlx::Row as _;
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        &product("kettle", "Kettle", &[("KET-1", 3000, 1)]),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/products/{id}"),
        Some(&admin),
        &json!({"description": "Boils."}),
    )
    .await
    .expect(200);
    let mut variants = product("kettle", "Kettle", &[("KET-1", 2700, 0)])["variants"].clone();
    variants[0]["stock"] = serde_json::Value::Null;
    app.patch(
        &format!("/api/v1/products/{id}"),
        Some(&admin),
        &json!({"variants": variants}),
    )
    .await
    .expect(200);
    let db = app.database("catalog").await;
    let rows = sqlx::query("select envelope from outbox where event_type = 'product.updated'")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only the price change is announced");
    let event: serde_json::Value =
        serde_json::from_str(&rows[0].get::<String, _>("envelope")).unwrap();
    assert_eq!(event["data"]["variants"][0]["price"], 2700);
    assert_eq!(event["key"], id);
}

async fn variants_keep_their_ids_and_stock_across_edits(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        &product("sock", "Sock", &[("SOCK-S", 500, 7)]),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let variant_id = created["variants"][0]["id"].clone();
    let variants =
        product("sock", "Sock", &[("SOCK-S", 600, 99), ("SOCK-L", 650, 4)])["variants"].clone();
    let updated = app
        .patch(
            &format!("/api/v1/products/{id}"),
            Some(&admin),
            &json!({"variants": variants}),
        )
        .await;
    updated.expect(200);
    assert_eq!(updated.body["variants"][0]["id"], variant_id);
    assert_eq!(
        updated.body["variants"][0]["available"], 7,
        "stock changes only through adjustments"
    );
    assert_eq!(updated.body["variants"][1]["available"], 4);
}
