use std::collections::HashSet;

use serde_json::{Value, json};
use testkit::{Backend, TestApp, on_both_backends, spawn};

use crate::{category, create, product};

on_both_backends!(
    search_finds_words_in_names_and_descriptions_by_relevance,
    filters_combine_category_tree_price_and_stock,
    every_sort_orders_and_pages_without_gaps,
    walking_pages_while_products_are_added_returns_each_once,
    bad_list_parameters_are_refused,
);

fn slugs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect()
}

async fn search_finds_words_in_names_and_descriptions_by_relevance(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let mut wool = product("wool-scarf", "Wool scarf", &[("WS-1", 2000, 1)]);
    wool["description"] = json!("A warm scarf of merino wool. Wool, wool, wool.");
    create(&app, &admin, &wool).await;
    let mut hat = product("cotton-hat", "Cotton hat", &[("CH-1", 1500, 1)]);
    hat["description"] = json!("Lined with a little wool.");
    create(&app, &admin, &hat).await;
    create(
        &app,
        &admin,
        &product("steel-pan", "Steel pan", &[("SP-1", 4000, 1)]),
    )
    .await;

    let found = app
        .get("/api/v1/products?q=wool&sort=relevance", None)
        .await;
    found.expect(200);
    assert_eq!(
        slugs(&found.body),
        ["wool-scarf", "cotton-hat"],
        "best match first"
    );
    let newest = app.get("/api/v1/products?q=wool", None).await;
    assert_eq!(
        slugs(&newest.body),
        ["cotton-hat", "wool-scarf"],
        "the default sort is -created_at"
    );
    assert_eq!(
        slugs(&app.get("/api/v1/products?q=WOOL%20scarf", None).await.body),
        ["wool-scarf"]
    );
    assert_eq!(
        slugs(&app.get("/api/v1/products?q=sca", None).await.body),
        ["wool-scarf"],
        "prefix of the last word"
    );
    assert!(slugs(&app.get("/api/v1/products?q=velvet", None).await.body).is_empty());
    // Operators of the search engines are plain text here.
    for tricky in [
        "wool%20OR%20steel",
        "%22wool",
        "wool*",
        "w%26o:*%7Cl",
        "%21%21%21",
    ] {
        let reply = app.get(&format!("/api/v1/products?q={tricky}"), None).await;
        reply.expect(200);
        assert!(
            !slugs(&reply.body).contains(&"steel-pan".to_owned()),
            "{tricky}"
        );
    }
    let by_price = app.get("/api/v1/products?q=wool&sort=price", None).await;
    assert_eq!(slugs(&by_price.body), ["cotton-hat", "wool-scarf"]);
}

async fn filters_combine_category_tree_price_and_stock(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let clothes = category(&app, &admin, "clothes", None).await;
    let shirts = category(&app, &admin, "shirts", Some(&clothes)).await;
    let kitchen = category(&app, &admin, "kitchen", None).await;
    let mut shirt = product(
        "oxford",
        "Oxford shirt",
        &[("OX-1", 5000, 0), ("OX-2", 4500, 2)],
    );
    shirt["category_ids"] = json!([shirts]);
    create(&app, &admin, &shirt).await;
    let mut tee = product("plain-tee", "Plain tee", &[("PT-1", 1200, 0)]);
    tee["category_ids"] = json!([clothes]);
    create(&app, &admin, &tee).await;
    let mut pan = product("pan", "Pan", &[("PAN-1", 3000, 9)]);
    pan["category_ids"] = json!([kitchen]);
    create(&app, &admin, &pan).await;

    let mut by_slug = slugs(
        &app.get("/api/v1/products?category=clothes", None)
            .await
            .body,
    );
    by_slug.sort();
    assert_eq!(by_slug, ["oxford", "plain-tee"], "sub-categories included");
    let by_id = slugs(
        &app.get(&format!("/api/v1/products?category={shirts}"), None)
            .await
            .body,
    );
    assert_eq!(by_id, ["oxford"]);
    let in_stock = slugs(
        &app.get("/api/v1/products?category=clothes&in_stock=true", None)
            .await
            .body,
    );
    assert_eq!(in_stock, ["oxford"]);
    let priced = slugs(
        &app.get(
            "/api/v1/products?min_price=1200&max_price=4500&sort=price",
            None,
        )
        .await
        .body,
    );
    assert_eq!(
        priced,
        ["plain-tee", "pan", "oxford"],
        "bounds inclusive, on the lowest variant price"
    );
    assert!(
        slugs(
            &app.get("/api/v1/products?category=no-such-category", None)
                .await
                .body
        )
        .is_empty()
    );
}

async fn collect_all(app: &TestApp, query: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/products?{query}&limit=3&cursor={c}"),
            None => format!("/api/v1/products?{query}&limit=3"),
        };
        let page = app.get(&url, None).await;
        page.expect(200);
        all.extend(slugs(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
    }
}

async fn every_sort_orders_and_pages_without_gaps(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let items = [
        ("delta", 300),
        ("alpha", 500),
        ("echo", 100),
        ("bravo", 300),
        ("charlie", 900),
        ("foxtrot", 200),
        ("golf", 300),
    ];
    for (i, (name, price)) in items.iter().enumerate() {
        create(
            &app,
            &admin,
            &product(name, name, &[(&format!("SKU-{i}"), *price, 1)]),
        )
        .await;
    }
    let newest = collect_all(&app, "sort=-created_at").await;
    assert_eq!(
        newest,
        [
            "golf", "foxtrot", "charlie", "bravo", "echo", "alpha", "delta"
        ]
    );
    assert_eq!(
        collect_all(&app, "sort=name").await,
        [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"
        ]
    );
    let cheap = collect_all(&app, "sort=price").await;
    assert_eq!(cheap[..2], ["echo", "foxtrot"]);
    assert_eq!(cheap[5..], ["alpha", "charlie"]);
    let mut ties: Vec<String> = cheap[2..5].to_vec();
    ties.sort();
    assert_eq!(ties, ["bravo", "delta", "golf"]);
    let dear = collect_all(&app, "sort=-price").await;
    assert_eq!(
        dear.iter().rev().cloned().collect::<Vec<_>>(),
        cheap,
        "ties break on id, both ways"
    );
}

async fn walking_pages_while_products_are_added_returns_each_once(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let mut existing = HashSet::new();
    for i in 0..12 {
        create(
            &app,
            &admin,
            &product(
                &format!("old-{i}"),
                &format!("Old {i}"),
                &[(&format!("OLD-{i}"), 100 + i, 1)],
            ),
        )
        .await;
        existing.insert(format!("old-{i}"));
    }
    for sort in ["-created_at", "price", "name"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut added = 0;
        loop {
            let url = match &cursor {
                Some(c) => format!("/api/v1/products?sort={sort}&limit=5&cursor={c}"),
                None => format!("/api/v1/products?sort={sort}&limit=5"),
            };
            let page = app.get(&url, None).await;
            seen.extend(slugs(&page.body));
            // Someone adds products between page reads.
            for _ in 0..2 {
                added += 1;
                let slug = format!("new-{sort}-{added}")
                    .replace(['-', '_'], "x")
                    .to_lowercase();
                create(
                    &app,
                    &admin,
                    &product(
                        &slug,
                        &slug,
                        &[(&format!("NEW-{sort}-{added}"), 50 + added, 1)],
                    ),
                )
                .await;
            }
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let old: Vec<&String> = seen.iter().filter(|s| existing.contains(*s)).collect();
        let unique: HashSet<&&String> = old.iter().collect();
        assert_eq!(unique.len(), old.len(), "{sort}: a product appeared twice");
        assert_eq!(
            unique.len(),
            existing.len(),
            "{sort}: a product was skipped"
        );
    }
}

async fn bad_list_parameters_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    for query in [
        "limit=0",
        "limit=500",
        "cursor=zzz",
        "sort=cheapest",
        "min_price=-1",
        "max_price=ten",
        "in_stock=yes",
    ] {
        let reply = app.get(&format!("/api/v1/products?{query}"), None).await;
        reply.problem(422);
    }
    // A cursor from one sort does not work with another.
    let admin = app.admin_token().await;
    for i in 0..3 {
        create(
            &app,
            &admin,
            &product(&format!("p{i}"), "P", &[(&format!("P-{i}"), 100, 1)]),
        )
        .await;
    }
    // Relevance without a query ranks nothing: the default order, newest
    // first (the OpenAPI document cannot tie one parameter to another).
    let relevance = app.get("/api/v1/products?sort=relevance", None).await;
    let newest = app.get("/api/v1/products", None).await;
    relevance.expect(200);
    assert_eq!(relevance.body["items"], newest.body["items"]);
    assert_eq!(relevance.body["items"].as_array().unwrap().len(), 3);
    let page = app.get("/api/v1/products?limit=1&sort=price", None).await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    app.get(
        &format!("/api/v1/products?limit=1&sort=name&cursor={cursor}"),
        None,
    )
    .await
    .problem(422);
}
