//! Real parallel requests at one account or address; the end state is
//! checked exactly and no answer may be a 5xx. Each read-modify-write takes
//! the row first, so on PostgreSQL no concurrent change is lost.

use std::sync::Arc;

use serde_json::{Value, json};
use testkit::{Backend, burst, count_status, on_both_backends, spawn};

on_both_backends!(
    parallel_profile_changes_of_different_fields_all_land,
    parallel_access_changes_of_different_fields_all_land,
    parallel_additions_fill_the_address_book_exactly_to_its_limit,
    parallel_changes_of_different_address_fields_all_land,
);

fn address(i: usize) -> Value {
    json!({"name": format!("Ada {i}"), "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"})
}

async fn parallel_profile_changes_of_different_fields_all_land(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let customer = app.register("racy").await;
    let token = customer.access.clone();
    let replies = burst(20, |i| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            let change = if i % 2 == 0 {
                json!({"name": format!("Name {i}")})
            } else {
                json!({"phone": format!("+1415555{i:04}")})
            };
            app.patch("/api/v1/users/me", Some(&token), &change).await
        }
    })
    .await;
    assert_eq!(count_status(&replies, 200), 20);
    let me = app.get("/api/v1/users/me", Some(&customer.access)).await;
    let name = me.body["name"].as_str().unwrap();
    let phone = me.body["phone"].as_str().unwrap_or("none");
    assert!(name.starts_with("Name "), "a name change was lost: {name}");
    assert!(
        phone.starts_with("+1415555"),
        "a phone change was lost: {phone}"
    );
}

async fn parallel_access_changes_of_different_fields_all_land(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let admin = app.admin_token().await;
    for round in 0..3 {
        let customer = app.register(&format!("access{round}")).await;
        let path = format!("/api/v1/users/{}", customer.id);
        let replies = burst(10, |i| {
            let (app, admin, path) = (app.clone(), admin.clone(), path.clone());
            async move {
                let change = if i % 2 == 0 {
                    json!({"role": "admin"})
                } else {
                    json!({"disabled": true})
                };
                app.patch(&path, Some(&admin), &change).await
            }
        })
        .await;
        assert_eq!(count_status(&replies, 200), 10);
        let user = app.get(&path, Some(&admin)).await;
        assert_eq!(user.body["role"], "admin", "round {round}");
        assert_eq!(user.body["disabled"], true, "round {round}");
    }
}

async fn parallel_additions_fill_the_address_book_exactly_to_its_limit(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let customer = app.register("hoarder").await;
    let token = customer.access.clone();
    let replies = burst(60, |i| {
        let (app, token) = (app.clone(), token.clone());
        async move {
            app.post("/api/v1/users/me/addresses", Some(&token), &address(i))
                .await
        }
    })
    .await;
    assert_eq!(count_status(&replies, 201), 50, "the book holds 50");
    assert_eq!(count_status(&replies, 409), 10, "the book is full");
    let list = app
        .get("/api/v1/users/me/addresses", Some(&customer.access))
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 50);
}

async fn parallel_changes_of_different_address_fields_all_land(backend: Backend) {
    let app = Arc::new(spawn(backend).await);
    let customer = app.register("mover").await;
    let created = app
        .post(
            "/api/v1/users/me/addresses",
            Some(&customer.access),
            &address(0),
        )
        .await;
    created.expect(201);
    let path = format!(
        "/api/v1/users/me/addresses/{}",
        created.body["id"].as_str().unwrap()
    );
    let changes = Arc::new([
        json!({"name": "Grace Hopper"}),
        json!({"line1": "1 Navy Yard"}),
        json!({"line2": "Building 7"}),
        json!({"city": "Arlington"}),
        json!({"region": "VA"}),
        json!({"postal_code": "22202"}),
        json!({"phone": "+1 703 555 0100"}),
    ]);
    let token = customer.access.clone();
    let replies = burst(changes.len(), |i| {
        let (app, token, path, changes) =
            (app.clone(), token.clone(), path.clone(), changes.clone());
        async move { app.patch(&path, Some(&token), &changes[i]).await }
    })
    .await;
    assert_eq!(count_status(&replies, 200), changes.len());
    let list = app
        .get("/api/v1/users/me/addresses", Some(&customer.access))
        .await;
    let now = &list.body["items"][0];
    for change in changes.iter() {
        let (field, value) = change.as_object().unwrap().iter().next().unwrap();
        if field == "phone" {
            assert!(now[field].is_string(), "the phone change was lost: {now}");
        } else {
            assert_eq!(&now[field], value, "the {field} change was lost: {now}");
        }
    }
}
