//! Browsing: home, category pages, search and the product page.

use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{Visit, query};
use crate::{
    models::{Category, Page, Product},
    money,
    views::{self, shop::Listing},
};

/// Products per listing page.
const PAGE_SIZE: &str = "24";

/// Sorts a shopper may pick, with their labels.
pub const SORTS: &[(&str, &str)] = &[
    ("-created_at", "Newest"),
    ("price", "Price: low to high"),
    ("-price", "Price: high to low"),
    ("name", "Name"),
];

/// `GET /`.
pub async fn home(visit: Visit) -> Response {
    let path = format!(
        "/api/v1/products?limit={}&in_stock=true",
        visit.state.settings.featured_products
    );
    let featured = match visit
        .state
        .api
        .get::<Page<Product>>(&visit.anonymous(), &path)
        .await
    {
        Ok(page) => page.items,
        Err(e) => return visit.failure(&e, "/").await,
    };
    let categories = visit.state.categories.get(&visit).await;
    let chrome = visit.chrome().await;
    views::shop::home(&chrome, &categories, &featured).into_response()
}

/// The filters of a listing, as the query string carries them.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub min_price: String,
    #[serde(default)]
    pub max_price: String,
    #[serde(default)]
    pub in_stock: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub cursor: String,
}

/// `GET /c/{slug}`.
pub async fn category(
    visit: Visit,
    Path(slug): Path<String>,
    Query(filters): Query<Filters>,
) -> Response {
    let categories = visit.state.categories.get(&visit).await;
    let Some(category) = categories.iter().find(|c| c.slug == slug).cloned() else {
        let chrome = visit.chrome().await;
        return (StatusCode::NOT_FOUND, views::not_found(&chrome)).into_response();
    };
    listing(visit, Some(category), &categories, filters).await
}

/// `GET /search?q=`.
pub async fn search(visit: Visit, Query(filters): Query<Filters>) -> Response {
    let categories = visit.state.categories.get(&visit).await;
    listing(visit, None, &categories, filters).await
}

async fn listing(
    visit: Visit,
    category: Option<Category>,
    categories: &[Category],
    filters: Filters,
) -> Response {
    let currency = visit.state.settings.currency.clone();
    let mut errors = Vec::new();
    let mut price = |text: &str, name: &'static str| -> String {
        if text.trim().is_empty() {
            return String::new();
        }
        match money::parse_major(text, &currency) {
            Some(minor) => minor.to_string(),
            None => {
                errors.push((name, "Enter an amount such as 25 or 19.99."));
                String::new()
            }
        }
    };
    let min = price(&filters.min_price, "min_price");
    let max = price(&filters.max_price, "max_price");
    let sort = if SORTS.iter().any(|(s, _)| *s == filters.sort)
        || (filters.sort == "relevance" && !filters.q.is_empty())
    {
        filters.sort.clone()
    } else if filters.q.is_empty() {
        String::new()
    } else {
        "relevance".to_owned()
    };
    let in_stock = if filters.in_stock.is_empty() {
        ""
    } else {
        "true"
    };
    let category_slug = category.as_ref().map_or("", |c| c.slug.as_str());
    let api_query = query(&[
        ("limit", PAGE_SIZE),
        ("q", filters.q.trim()),
        ("category", category_slug),
        ("min_price", &min),
        ("max_price", &max),
        ("in_stock", in_stock),
        ("sort", &sort),
        ("cursor", &filters.cursor),
    ]);
    let page = match visit
        .state
        .api
        .get::<Page<Product>>(&visit.anonymous(), &format!("/api/v1/products?{api_query}"))
        .await
    {
        Ok(page) => page,
        // A cursor from an older listing, or filters the API refuses: show
        // the form again with what it said.
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            if let Some(p) = e.problem() {
                errors.push(("", "These filters cannot be applied."));
                tracing::debug!(problem = ?p, "listing filters refused");
            }
            Page {
                items: Vec::new(),
                next_cursor: None,
            }
        }
        Err(e) => return visit.failure(&e, "/").await,
    };
    let base = match &category {
        Some(c) => format!("/c/{}", c.slug),
        None => "/search".to_owned(),
    };
    let next_href = page.next_cursor.as_ref().map(|cursor| {
        format!(
            "{base}?{}",
            query(&[
                ("q", &filters.q),
                ("min_price", &filters.min_price),
                ("max_price", &filters.max_price),
                ("in_stock", in_stock),
                ("sort", &filters.sort),
                ("cursor", cursor),
            ])
        )
    });
    let children: Vec<Category> = match &category {
        Some(c) => categories
            .iter()
            .filter(|x| x.parent_id.as_deref() == Some(c.id.as_str()))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let parent = category
        .as_ref()
        .and_then(|c| c.parent_id.as_deref())
        .and_then(|id| categories.iter().find(|x| x.id == id))
        .cloned();
    let chrome = visit.chrome().await;
    views::shop::listing(
        &chrome,
        &Listing {
            base: &base,
            category: category.as_ref(),
            parent: parent.as_ref(),
            children: &children,
            filters: &filters,
            sort: &sort,
            errors: &errors,
            products: &page.items,
            next_href,
            first_page: filters.cursor.is_empty(),
        },
    )
    .into_response()
}

/// `GET /p/{slug}`.
pub async fn product(visit: Visit, Path(slug): Path<String>) -> Response {
    if slug.is_empty() || slug.len() > 100 {
        return super::not_found_page();
    }
    let path = format!("/api/v1/products/{}", super::encode(&slug));
    let product = match visit
        .state
        .api
        .get::<Product>(&visit.anonymous(), &path)
        .await
    {
        Ok(product) => product,
        Err(e) => return visit.failure(&e, "/").await,
    };
    let categories = visit.state.categories.get(&visit).await;
    let category = product
        .category_ids
        .first()
        .and_then(|id| categories.iter().find(|c| &c.id == id))
        .cloned();
    let chrome = visit.chrome().await;
    views::shop::product(&chrome, &product, category.as_ref()).into_response()
}
