use serde_json::{Value, json};
use testkit::{Backend, on_both_backends, spawn};

on_both_backends!(
    the_address_book_supports_add_list_change_and_delete,
    invalid_addresses_name_every_bad_field,
    another_customers_address_is_not_found,
);

fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "gb", "phone": "+44 20 7946 0958"})
}

async fn the_address_book_supports_add_list_change_and_delete(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("book").await;
    let token = Some(customer.access.as_str());
    let created = app
        .post("/api/v1/users/me/addresses", token, &address())
        .await;
    created.expect(201);
    assert_eq!(created.body["country"], "GB");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let second = app
        .post(
            "/api/v1/users/me/addresses",
            token,
            &json!({"name": "Work", "line1": "1 Main St",
        "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}),
        )
        .await;
    second.expect(201);

    let list = app.get("/api/v1/users/me/addresses", token).await;
    list.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    assert_eq!(list.body["next_cursor"], Value::Null);

    let changed = app
        .patch(
            &format!("/api/v1/users/me/addresses/{id}"),
            token,
            &json!({"city": "Bath", "phone": null}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["city"], "Bath");
    assert_eq!(changed.body["phone"], Value::Null);
    assert_eq!(changed.body["line1"], "12 St James's Square");

    app.delete(&format!("/api/v1/users/me/addresses/{id}"), token)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/users/me/addresses/{id}"), token)
        .await
        .problem(404);
    let list = app.get("/api/v1/users/me/addresses", token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

async fn invalid_addresses_name_every_bad_field(backend: Backend) {
    let app = spawn(backend).await;
    let customer = app.register("badaddr").await;
    let token = Some(customer.access.as_str());
    let reply = app
        .post(
            "/api/v1/users/me/addresses",
            token,
            &json!({"name": "", "line1": "x", "city": "y", "postal_code": "z", "country": "XX"}),
        )
        .await;
    reply.problem(422);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, ["country", "name"]);
    let mut extra = address();
    extra["owner_id"] = json!("someone");
    app.post("/api/v1/users/me/addresses", token, &extra)
        .await
        .problem(422);
    let created = app
        .post("/api/v1/users/me/addresses", token, &address())
        .await;
    let id = created.body["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/users/me/addresses/{id}"),
        token,
        &json!({"country": "Narnia"}),
    )
    .await
    .problem(422);
    app.patch(
        "/api/v1/users/me/addresses/not-a-uuid",
        token,
        &json!({"city": "Bath"}),
    )
    .await
    .problem(404);
}

async fn another_customers_address_is_not_found(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.register("owner").await;
    let intruder = app.register("intruder").await;
    let created = app
        .post(
            "/api/v1/users/me/addresses",
            Some(&owner.access),
            &address(),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let path = format!("/api/v1/users/me/addresses/{id}");
    app.patch(&path, Some(&intruder.access), &json!({"city": "Elsewhere"}))
        .await
        .problem(404);
    app.delete(&path, Some(&intruder.access)).await.problem(404);
    let list = app
        .get("/api/v1/users/me/addresses", Some(&intruder.access))
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
    let mine = app
        .get("/api/v1/users/me/addresses", Some(&owner.access))
        .await;
    assert_eq!(mine.body["items"][0]["city"], "London");
}
