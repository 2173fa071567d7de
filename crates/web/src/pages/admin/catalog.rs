//! Products and the category tree.

use std::collections::BTreeMap;

use axum::{
    extract::{Path, Query},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Admin, form_problem, problem_status};
use crate::{
    models::{ApiProblem, Category, Items, Page, Product},
    money,
    pages::{CsrfForm, cart::Empty, encode, query},
    views::admin::catalog::{self as view, CategoryDraft, ProductDraft, VariantDraft},
};

/// Blank variant rows a product form offers beyond its variants.
const SPARE_VARIANT_ROWS: usize = 2;

#[derive(Debug, Default, Deserialize)]
pub struct ProductFilters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /admin/products`: every status, searchable.
pub async fn products(admin: Admin, Query(f): Query<ProductFilters>) -> Response {
    let status = match f.status.as_str() {
        "draft" | "published" | "archived" => f.status.as_str(),
        _ => "any",
    };
    let path = format!(
        "/api/v1/products?{}",
        query(&[
            ("q", f.q.trim()),
            ("status", status),
            (
                "sort",
                if f.q.trim().is_empty() {
                    ""
                } else {
                    "relevance"
                }
            ),
            ("limit", "25"),
            ("cursor", &f.cursor),
        ])
    );
    match admin.api().get::<Page<Product>>(&admin.caller, &path).await {
        Ok(page) => {
            let next = page.next_cursor.as_deref().map(|c| {
                format!(
                    "/admin/products?{}",
                    query(&[("q", &f.q), ("status", &f.status), ("cursor", c)])
                )
            });
            view::products(
                &admin.chrome("products"),
                &page.items,
                &f.q,
                &f.status,
                next,
            )
            .into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => (
                problem_status(&problem),
                view::products(&admin.chrome("products"), &[], &f.q, &f.status, None),
            )
                .into_response(),
            Err(e) => admin.failure(&e, "products"),
        },
    }
}

async fn categories(admin: &Admin) -> Result<Vec<Category>, Response> {
    admin
        .api()
        .get::<Items<Category>>(&admin.caller, "/api/v1/categories")
        .await
        .map(|c| c.items)
        .map_err(|e| admin.failure(&e, "products"))
}

/// `GET /admin/products/new`.
pub async fn new_product(admin: Admin) -> Response {
    let categories = match categories(&admin).await {
        Ok(c) => c,
        Err(page) => return page,
    };
    let mut draft = ProductDraft {
        status: "draft".into(),
        ..ProductDraft::default()
    };
    draft.pad_variants(SPARE_VARIANT_ROWS);
    view::product_form(
        &admin.chrome("products"),
        None,
        &draft,
        &categories,
        &admin.visit.state.settings.currency,
        None,
    )
    .into_response()
}

/// `POST /admin/products`.
pub async fn create_product(
    admin: Admin,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let currency = admin.visit.state.settings.currency.clone();
    let draft = ProductDraft::from_pairs(&pairs);
    let body = match draft.to_body(&currency, true) {
        Ok(body) => body,
        Err(problem) => return show_form(&admin, None, draft, &currency, problem).await,
    };
    match admin
        .api()
        .send::<Product>(&admin.caller, Method::POST, "/api/v1/products", &body)
        .await
    {
        Ok(product) => {
            admin.flash(true, format!("Created “{}”.", product.name));
            Redirect::to(&format!("/admin/products/{}", product.id)).into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => show_form(&admin, None, draft, &currency, problem).await,
            Err(e) => admin.failure(&e, "products"),
        },
    }
}

async fn show_form(
    admin: &Admin,
    product: Option<&Product>,
    mut draft: ProductDraft,
    currency: &str,
    problem: ApiProblem,
) -> Response {
    let categories = match categories(admin).await {
        Ok(c) => c,
        Err(page) => return page,
    };
    draft.pad_variants(0);
    (
        problem_status(&problem),
        view::product_form(
            &admin.chrome("products"),
            product,
            &draft,
            &categories,
            currency,
            Some(&problem),
        ),
    )
        .into_response()
}

async fn product(admin: &Admin, id: &str) -> Result<Product, Response> {
    admin
        .api()
        .get::<Product>(&admin.caller, &format!("/api/v1/products/{}", encode(id)))
        .await
        .map_err(|e| admin.failure(&e, "products"))
}

/// `GET /admin/products/{id}`: the edit form.
pub async fn edit_product(admin: Admin, Path(id): Path<String>) -> Response {
    let product = match product(&admin, &id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let categories = match categories(&admin).await {
        Ok(c) => c,
        Err(page) => return page,
    };
    let mut draft = ProductDraft::from_product(&product);
    draft.pad_variants(SPARE_VARIANT_ROWS);
    let currency = product
        .variants
        .first()
        .map_or(admin.visit.state.settings.currency.clone(), |v| {
            v.price.currency.clone()
        });
    view::product_form(
        &admin.chrome("products"),
        Some(&product),
        &draft,
        &categories,
        &currency,
        None,
    )
    .into_response()
}

/// `POST /admin/products/{id}`: saves the whole form.
pub async fn update_product(
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let product = match product(&admin, &id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let currency = product
        .variants
        .first()
        .map_or(admin.visit.state.settings.currency.clone(), |v| {
            v.price.currency.clone()
        });
    let draft = ProductDraft::from_pairs(&pairs);
    let body = match draft.to_body(&currency, false) {
        Ok(body) => body,
        Err(problem) => return show_form(&admin, Some(&product), draft, &currency, problem).await,
    };
    match admin
        .api()
        .send::<Product>(
            &admin.caller,
            Method::PATCH,
            &format!("/api/v1/products/{}", product.id),
            &body,
        )
        .await
    {
        Ok(saved) => {
            admin.flash(true, format!("Saved “{}”.", saved.name));
            Redirect::to(&format!("/admin/products/{}", saved.id)).into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => show_form(&admin, Some(&product), draft, &currency, problem).await,
            Err(e) => admin.failure(&e, "products"),
        },
    }
}

/// `GET /admin/products/{id}/archive`: asks first.
pub async fn archive_confirm(admin: Admin, Path(id): Path<String>) -> Response {
    match product(&admin, &id).await {
        Ok(p) => view::archive_confirm(&admin.chrome("products"), &p).into_response(),
        Err(page) => page,
    }
}

/// `POST /admin/products/{id}/archive`.
pub async fn archive(
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let product = match product(&admin, &id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    match admin
        .api()
        .execute(
            &admin.caller,
            Method::DELETE,
            &format!("/api/v1/products/{}", product.id),
            None,
        )
        .await
    {
        Ok(()) => {
            admin.flash(
                true,
                format!(
                    "Archived “{}”: it is no longer sold. Set it to published to sell it again.",
                    product.name
                ),
            );
            Redirect::to(&format!("/admin/products/{}", product.id)).into_response()
        }
        Err(e) => admin.failure(&e, "products"),
    }
}

/// `GET /admin/categories`: the tree and a form for a new category.
pub async fn category_tree(admin: Admin) -> Response {
    match categories(&admin).await {
        Ok(all) => view::categories(
            &admin.chrome("categories"),
            &all,
            &CategoryDraft::default(),
            None,
        )
        .into_response(),
        Err(page) => page,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    parent_id: String,
}

impl CategoryForm {
    fn draft(&self) -> CategoryDraft {
        CategoryDraft {
            name: self.name.clone(),
            slug: self.slug.clone(),
            parent_id: self.parent_id.clone(),
        }
    }

    fn body(&self) -> Value {
        let slug = if self.slug.trim().is_empty() {
            slugify(&self.name)
        } else {
            self.slug.trim().to_owned()
        };
        let parent = Some(self.parent_id.trim()).filter(|p| !p.is_empty());
        json!({"name": self.name.trim(), "slug": slug, "parent_id": parent})
    }
}

/// `POST /admin/categories`.
pub async fn create_category(admin: Admin, CsrfForm(form): CsrfForm<CategoryForm>) -> Response {
    match admin
        .api()
        .send::<Category>(
            &admin.caller,
            Method::POST,
            "/api/v1/categories",
            &form.body(),
        )
        .await
    {
        Ok(category) => {
            admin.visit.state.categories.forget();
            admin.flash(true, format!("Created the category “{}”.", category.name));
            Redirect::to("/admin/categories").into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => match categories(&admin).await {
                Ok(all) => (
                    problem_status(&problem),
                    view::categories(
                        &admin.chrome("categories"),
                        &all,
                        &form.draft(),
                        Some(&problem),
                    ),
                )
                    .into_response(),
                Err(page) => page,
            },
            Err(e) => admin.failure(&e, "categories"),
        },
    }
}

async fn category(admin: &Admin, id: &str) -> Result<(Category, Vec<Category>), Response> {
    let all = categories(admin).await?;
    match all.iter().find(|c| c.id == id).cloned() {
        Some(c) => Ok((c, all)),
        None => Err(admin.not_found("categories")),
    }
}

/// `GET /admin/categories/{id}`: rename or move.
pub async fn edit_category(admin: Admin, Path(id): Path<String>) -> Response {
    match category(&admin, &id).await {
        Ok((c, all)) => {
            let draft = CategoryDraft {
                name: c.name.clone(),
                slug: c.slug.clone(),
                parent_id: c.parent_id.clone().unwrap_or_default(),
            };
            view::category_form(&admin.chrome("categories"), &c, &all, &draft, None).into_response()
        }
        Err(page) => page,
    }
}

/// `POST /admin/categories/{id}`.
pub async fn update_category(
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CategoryForm>,
) -> Response {
    let (c, all) = match category(&admin, &id).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match admin
        .api()
        .send::<Category>(
            &admin.caller,
            Method::PATCH,
            &format!("/api/v1/categories/{}", c.id),
            &form.body(),
        )
        .await
    {
        Ok(saved) => {
            admin.visit.state.categories.forget();
            admin.flash(true, format!("Saved the category “{}”.", saved.name));
            Redirect::to("/admin/categories").into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => (
                problem_status(&problem),
                view::category_form(
                    &admin.chrome("categories"),
                    &c,
                    &all,
                    &form.draft(),
                    Some(&problem),
                ),
            )
                .into_response(),
            Err(e) => admin.failure(&e, "categories"),
        },
    }
}

/// `GET /admin/categories/{id}/delete`: asks first.
pub async fn delete_category_confirm(admin: Admin, Path(id): Path<String>) -> Response {
    match category(&admin, &id).await {
        Ok((c, all)) => view::delete_category_confirm(&admin.chrome("categories"), &c, &all, None)
            .into_response(),
        Err(page) => page,
    }
}

/// `POST /admin/categories/{id}/delete`: a category still in use is
/// explained, not deleted.
pub async fn delete_category(
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let (c, all) = match category(&admin, &id).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match admin
        .api()
        .execute(
            &admin.caller,
            Method::DELETE,
            &format!("/api/v1/categories/{}", c.id),
            None,
        )
        .await
    {
        Ok(()) => {
            admin.visit.state.categories.forget();
            admin.flash(true, format!("Deleted the category “{}”.", c.name));
            Redirect::to("/admin/categories").into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(mut problem) => {
                if problem.status == 409 {
                    problem.detail = Some(format!(
                        "“{}” still has sub-categories or products, so it cannot be deleted. \
                         Move its sub-categories elsewhere and take its products out of it first.",
                        c.name
                    ));
                }
                (
                    StatusCode::CONFLICT,
                    view::delete_category_confirm(
                        &admin.chrome("categories"),
                        &c,
                        &all,
                        Some(&problem),
                    ),
                )
                    .into_response()
            }
            Err(e) => admin.failure(&e, "categories"),
        },
    }
}

/// A slug from a name: lower-case letters and digits joined by dashes.
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(100).collect()
}

impl ProductDraft {
    /// The form as posted: `variant-{i}-{field}` rows, `category` repeated.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut draft = Self::default();
        let mut rows: BTreeMap<usize, VariantDraft> = BTreeMap::new();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => draft.name = value.clone(),
                "slug" => draft.slug = value.clone(),
                "description" => draft.description = value.clone(),
                "status" => draft.status = value.clone(),
                "images" => draft.images = value.clone(),
                "attributes" => draft.attributes = value.clone(),
                "category" => draft.category_ids.push(value.clone()),
                other => {
                    let Some((index, field)) = other
                        .strip_prefix("variant-")
                        .and_then(|rest| rest.split_once('-'))
                        .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f)))
                    else {
                        continue;
                    };
                    if index >= 100 + SPARE_VARIANT_ROWS {
                        continue;
                    }
                    let row = rows.entry(index).or_default();
                    match field {
                        "sku" => row.sku = value.clone(),
                        "title" => row.title = value.clone(),
                        "options" => row.options = value.clone(),
                        "price" => row.price = value.clone(),
                        "stock" => row.stock = value.clone(),
                        "existing" => row.existing = value == "true",
                        _ => {}
                    }
                }
            }
        }
        draft.variants = rows.into_values().filter(|v| !v.is_blank()).collect();
        draft
    }

    /// The product as the form shows it.
    pub fn from_product(p: &Product) -> Self {
        Self {
            name: p.name.clone(),
            slug: p.slug.clone(),
            description: p.description.clone(),
            status: p.status.clone(),
            category_ids: p.category_ids.clone(),
            images: p.images.join("\n"),
            attributes: p
                .attributes
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}: {s}"),
                    other => format!("{k}: {other}"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            variants: p
                .variants
                .iter()
                .map(|v| VariantDraft {
                    sku: v.sku.clone(),
                    title: v.title.clone(),
                    options: v
                        .options
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    price: money::format_plain(&v.price),
                    stock: String::new(),
                    existing: true,
                })
                .collect(),
        }
    }

    /// Adds blank variant rows (at least one row in all).
    pub fn pad_variants(&mut self, spare: usize) {
        let want = (self.variants.len() + spare).max(1);
        self.variants.resize_with(want, VariantDraft::default);
    }

    /// The API's body, or the problems of what the form itself must read
    /// (prices, stock, option and attribute lines); the API checks the rest.
    pub fn to_body(&self, currency: &str, creating: bool) -> Result<Value, ApiProblem> {
        let mut errors = Vec::new();
        let mut variants = Vec::new();
        for (i, v) in self.variants.iter().enumerate() {
            let field = |name: &str| format!("variant-{i}-{name}");
            let price = money::parse_major(v.price.trim(), currency);
            if price.is_none() {
                errors.push((
                    field("price"),
                    format!("Enter a price in {currency}, like 19.99."),
                ));
            }
            let mut options = serde_json::Map::new();
            for part in v
                .options
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                match part.split_once('=') {
                    Some((k, val)) if !k.trim().is_empty() && !val.trim().is_empty() => {
                        options.insert(k.trim().to_owned(), Value::String(val.trim().to_owned()));
                    }
                    _ => errors.push((
                        field("options"),
                        "Write options as name=value, separated by commas (Size=M, Colour=Navy)."
                            .to_owned(),
                    )),
                }
            }
            let stock = match v.stock.trim() {
                "" => None,
                raw => match raw.parse::<i64>() {
                    Ok(n) if n >= 0 => Some(n),
                    _ => {
                        errors.push((field("stock"), "Enter a whole number of units.".to_owned()));
                        None
                    }
                },
            };
            let mut variant = json!({
                "sku": v.sku.trim(),
                "title": v.title.trim(),
                "options": options,
                "price": {"amount": price.unwrap_or(0), "currency": currency},
            });
            if let Some(stock) = stock.filter(|_| !v.existing) {
                variant["stock"] = json!(stock);
            }
            variants.push(variant);
        }
        if variants.is_empty() {
            errors.push((
                "variant-0-sku".to_owned(),
                "A product needs at least one variant.".to_owned(),
            ));
        }
        let mut attributes = serde_json::Map::new();
        for line in self
            .attributes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match line.split_once(':') {
                Some((k, v)) if !k.trim().is_empty() => {
                    attributes.insert(k.trim().to_owned(), Value::String(v.trim().to_owned()));
                }
                _ => errors.push((
                    "attributes".to_owned(),
                    "Write one attribute per line as name: value.".to_owned(),
                )),
            }
        }
        if !errors.is_empty() {
            let mut problem = ApiProblem::bare(422);
            problem.detail = Some("Some fields need another look.".into());
            problem.errors = errors
                .into_iter()
                .map(|(field, message)| crate::models::FieldProblem { field, message })
                .collect();
            return Err(problem);
        }
        let slug = if self.slug.trim().is_empty() {
            slugify(&self.name)
        } else {
            self.slug.trim().to_owned()
        };
        let images: Vec<&str> = self
            .images
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let mut body = json!({
            "name": self.name.trim(),
            "slug": slug,
            "description": self.description.trim(),
            "category_ids": self.category_ids,
            "images": images,
            "attributes": attributes,
            "variants": variants,
        });
        if creating || !self.status.is_empty() {
            body["status"] = json!(if self.status.is_empty() {
                "draft"
            } else {
                self.status.as_str()
            });
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_posted_form_becomes_the_api_body() {
        let draft = ProductDraft::from_pairs(&pairs(&[
            ("name", "Trail Shoe"),
            ("slug", ""),
            ("status", "published"),
            ("category", "c1"),
            ("category", "c2"),
            ("images", "/media/a.svg\n\n https://cdn.example/b.jpg "),
            ("attributes", "Material: Leather\nBrand:Acme"),
            ("variant-0-sku", "TS-40"),
            ("variant-0-title", "EU 40"),
            ("variant-0-options", "Size=40, Colour=Black"),
            ("variant-0-price", "89.5"),
            ("variant-0-stock", "7"),
            ("variant-1-sku", ""),
            ("variant-1-title", ""),
            ("variant-1-price", ""),
            ("variant-2-sku", "TS-41"),
            ("variant-2-title", "EU 41"),
            ("variant-2-price", "90"),
            ("variant-2-existing", "true"),
            ("variant-2-stock", "3"),
        ]));
        let body = draft.to_body("USD", true).unwrap();
        assert_eq!(body["slug"], "trail-shoe");
        assert_eq!(body["category_ids"], json!(["c1", "c2"]));
        assert_eq!(
            body["images"],
            json!(["/media/a.svg", "https://cdn.example/b.jpg"])
        );
        assert_eq!(
            body["attributes"],
            json!({"Material": "Leather", "Brand": "Acme"})
        );
        let variants = body["variants"].as_array().unwrap();
        assert_eq!(variants.len(), 2, "the blank row is left out");
        assert_eq!(
            variants[0]["price"],
            json!({"amount": 8950, "currency": "USD"})
        );
        assert_eq!(
            variants[0]["options"],
            json!({"Size": "40", "Colour": "Black"})
        );
        assert_eq!(variants[0]["stock"], 7);
        assert!(
            variants[1].get("stock").is_none(),
            "stock of an existing SKU changes by adjustments only"
        );
        assert_eq!(body["status"], "published");
    }

    #[test]
    fn what_the_form_cannot_read_is_a_problem_on_its_field() {
        let draft = ProductDraft::from_pairs(&pairs(&[
            ("name", "X"),
            ("variant-0-sku", "X-1"),
            ("variant-0-title", "One"),
            ("variant-0-price", "12,50"),
            ("variant-0-options", "Size"),
            ("variant-0-stock", "-1"),
            ("attributes", "no colon here"),
        ]));
        let problem = draft.to_body("USD", true).unwrap_err();
        assert_eq!(problem.status, 422);
        for field in [
            "variant-0-price",
            "variant-0-options",
            "variant-0-stock",
            "attributes",
        ] {
            assert!(problem.field(field).is_some(), "{field}");
        }
        let empty = ProductDraft::from_pairs(&pairs(&[("name", "X")]));
        assert!(
            empty
                .to_body("USD", true)
                .unwrap_err()
                .field("variant-0-sku")
                .is_some()
        );
    }

    #[test]
    fn slugs_are_made_of_words() {
        assert_eq!(slugify("  Trail Shoe — Men's  "), "trail-shoe-men-s");
        assert_eq!(slugify("Ünïcode & 42"), "n-code-42");
        assert_eq!(slugify("!!!"), "");
    }
}
