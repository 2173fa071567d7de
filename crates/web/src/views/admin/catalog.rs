//! Products and categories.

use maud::{Markup, html};

use super::{AdminChrome, confirm_form, page};
use crate::{
    models::{ApiProblem, Category, Product},
    views::{Field, form_problem, money, next_page},
};

/// A product form's values, as typed (shown again when the API refuses).
#[derive(Debug, Clone, Default)]
pub struct ProductDraft {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub status: String,
    pub category_ids: Vec<String>,
    /// One URL per line.
    pub images: String,
    /// One `name: value` per line.
    pub attributes: String,
    pub variants: Vec<VariantDraft>,
}

/// One variant row.
#[derive(Debug, Clone, Default)]
pub struct VariantDraft {
    pub sku: String,
    pub title: String,
    /// `Size=M, Colour=Navy`.
    pub options: String,
    /// In major units.
    pub price: String,
    /// Starting stock (new SKUs only).
    pub stock: String,
    /// The SKU exists already (its stock changes by adjustments).
    pub existing: bool,
}

impl VariantDraft {
    /// Nothing typed in the row.
    pub fn is_blank(&self) -> bool {
        self.sku.trim().is_empty()
            && self.title.trim().is_empty()
            && self.price.trim().is_empty()
            && self.options.trim().is_empty()
    }
}

/// A category form's values.
#[derive(Debug, Clone, Default)]
pub struct CategoryDraft {
    pub name: String,
    pub slug: String,
    pub parent_id: String,
}

fn status_tag(status: &str) -> Markup {
    let class = match status {
        "published" => "tag ok",
        "draft" => "tag neutral",
        _ => "tag",
    };
    html! { span class=(class) { (status) } }
}

/// `GET /admin/products`.
pub fn products(
    chrome: &AdminChrome,
    products: &[Product],
    q: &str,
    status: &str,
    next: Option<String>,
) -> Markup {
    page(
        chrome,
        "Products",
        html! {
            div.heading {
                h1 { "Products" }
                a.button.primary href="/admin/products/new" { "New product" }
            }
            form.filters-bar method="get" action="/admin/products" role="search" {
                div.field {
                    label for="f-q" { "Search" }
                    input #f-q type="search" name="q" value=(q) maxlength="200";
                }
                div.field {
                    label for="f-status" { "Status" }
                    select #f-status name="status" {
                        @for (value, label) in [("", "Any"), ("published", "Published"), ("draft", "Draft"), ("archived", "Archived")] {
                            option value=(value) selected[value == status] { (label) }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            @if products.is_empty() {
                p.empty { "No products match." }
            } @else {
                table.lines {
                    caption.visually-hidden { "Products" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Variants" } th scope="col" { "Price" } th scope="col" { "Available" } } }
                    tbody {
                        @for p in products {
                            tr {
                                td data-label="Name" { a href=(format!("/admin/products/{}", p.id)) { (p.name) } br; span.muted { (p.slug) } }
                                td data-label="Status" { (status_tag(&p.status)) }
                                td data-label="Variants" { (p.variants.len()) }
                                td data-label="Price" { @if let Some(m) = p.from_price() { @if p.has_price_range() { "from " } (money(m)) } }
                                td data-label="Available" { (p.available()) }
                            }
                        }
                    }
                }
                (next_page(next, "Next page"))
            }
        },
    )
}

/// The message for a variant row's field: the form's own, or the API's
/// for `variants.{i}.{field}` (and the parts of a price).
fn variant_error<'a>(problem: Option<&'a ApiProblem>, i: usize, field: &str) -> Option<&'a str> {
    let p = problem?;
    let own = format!("variant-{i}-{field}");
    let api = format!("variants.{i}.{field}");
    let api_nested = format!("{api}.");
    p.errors
        .iter()
        .find(|e| e.field == own || e.field == api || e.field.starts_with(&api_nested))
        .map(|e| e.message.as_str())
}

fn variant_cell(
    i: usize,
    field: &str,
    label: &str,
    value: &str,
    problem: Option<&ApiProblem>,
    hint: Option<&str>,
) -> Markup {
    let id = format!("f-variant-{i}-{field}");
    let error = variant_error(problem, i, field);
    let error_id = format!("{id}-error");
    html! {
        div class=(if error.is_some() { "field invalid" } else { "field" }) {
            label for=(id) { (label) }
            input id=(id) name=(format!("variant-{i}-{field}")) type="text" value=(value)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.clone())]
                placeholder=[hint];
            @if let Some(message) = error { p.error id=(error_id) { (message) } }
        }
    }
}

fn text_area(
    name: &str,
    label: &str,
    value: &str,
    rows: u8,
    hint: &str,
    problem: Option<&ApiProblem>,
) -> Markup {
    let id = format!("f-{name}");
    let error = problem.and_then(|p| {
        p.errors
            .iter()
            .find(|e| e.field == name || e.field.starts_with(&format!("{name}.")))
            .map(|e| e.message.as_str())
    });
    html! {
        div class=(if error.is_some() { "field invalid" } else { "field" }) {
            label for=(id) { (label) span.optional { " (optional)" } }
            textarea id=(id) name=(name) rows=(rows) aria-describedby=(format!("{id}-hint"))
                aria-invalid=[error.map(|_| "true")] { (value) }
            p.hint id=(format!("{id}-hint")) { (hint) }
            @if let Some(message) = error { p.error { (message) } }
        }
    }
}

/// Categories as `(category, depth)` in tree order.
pub fn tree(categories: &[Category]) -> Vec<(&Category, usize)> {
    fn walk<'a>(
        all: &'a [Category],
        parent: Option<&str>,
        depth: usize,
        out: &mut Vec<(&'a Category, usize)>,
    ) {
        let mut children: Vec<&Category> = all
            .iter()
            .filter(|c| c.parent_id.as_deref() == parent)
            .collect();
        children.sort_by(|a, b| a.name.cmp(&b.name));
        for c in children {
            out.push((c, depth));
            // A cycle cannot come from the API; the depth bound keeps a bad
            // answer from recursing forever.
            if depth < 32 {
                walk(all, Some(&c.id), depth + 1, out);
            }
        }
    }
    let mut out = Vec::with_capacity(categories.len());
    walk(categories, None, 0, &mut out);
    out
}

fn indent(depth: usize) -> String {
    "— ".repeat(depth)
}

/// `GET /admin/products/new` and `/admin/products/{id}`.
pub fn product_form(
    chrome: &AdminChrome,
    product: Option<&Product>,
    d: &ProductDraft,
    categories: &[Category],
    currency: &str,
    problem: Option<&ApiProblem>,
) -> Markup {
    let (title, action) = match product {
        Some(p) => (
            format!("Edit “{}”", p.name),
            format!("/admin/products/{}", p.id),
        ),
        None => ("New product".to_owned(), "/admin/products".to_owned()),
    };
    page(
        chrome,
        &title,
        html! {
            p { a href="/admin/products" { "← Products" } }
            div.heading {
                h1 { (title) }
                @if let Some(p) = product {
                    (status_tag(&p.status))
                    @if p.status == "published" { a href=(format!("/p/{}", p.slug)) { "View in the shop" } }
                }
            }
            (form_problem(problem))
            form.admin-form method="post" action=(action) {
                (super::csrf(&chrome.csrf))
                fieldset {
                    legend { "Product" }
                    (Field::new("name", "Name").value(&d.name).render(problem))
                    (Field::new("slug", "Slug").value(&d.slug).optional().hint("Its address in the shop, /p/slug: lower-case letters, digits and dashes. Left empty, it is made from the name.").render(problem))
                    (text_area("description", "Description", &d.description, 4, "Shown on the product page.", problem))
                    div.field {
                        label for="f-status" { "Status" }
                        select #f-status name="status" aria-describedby="f-status-hint" {
                            @for (value, label) in [("draft", "Draft: not in the shop"), ("published", "Published: on sale"), ("archived", "Archived: no longer sold")] {
                                option value=(value) selected[d.status == value] { (label) }
                            }
                        }
                        p.hint #f-status-hint { "Customers see published products only." }
                    }
                }
                fieldset {
                    legend { "Categories" }
                    @if categories.is_empty() {
                        p.muted { "No categories yet. " a href="/admin/categories" { "Create one" } "." }
                    }
                    div.choices {
                        @for (c, depth) in tree(categories) {
                            div.choice {
                                input type="checkbox" name="category" value=(c.id) id=(format!("cat-{}", c.id)) checked[d.category_ids.contains(&c.id)];
                                label for=(format!("cat-{}", c.id)) { (indent(depth)) (c.name) }
                            }
                        }
                    }
                    @if let Some(message) = problem.and_then(|p| p.errors.iter().find(|e| e.field.starts_with("category_ids")).map(|e| e.message.as_str())) {
                        p.error { (message) }
                    }
                }
                fieldset {
                    legend { "Images and attributes" }
                    (text_area("images", "Image URLs", &d.images, 3, "One per line, the first is the main image: https://… or a path on this site like /media/….", problem))
                    (text_area("attributes", "Attributes", &d.attributes, 3, "One per line as name: value, e.g. Material: Cotton.", problem))
                }
                fieldset {
                    legend { "Variants" }
                    p.hint { "Each variant is one SKU with its own price in " (currency) ". Options are name=value pairs separated by commas (Size=M, Colour=Navy). Starting stock applies to new SKUs; change the stock of existing ones under Inventory. Clear a row to remove its variant." }
                    @for (i, v) in d.variants.iter().enumerate() {
                        div.variant-row role="group" aria-label=(format!("Variant {}", i + 1)) {
                            @if v.existing { input type="hidden" name=(format!("variant-{i}-existing")) value="true"; }
                            (variant_cell(i, "sku", "SKU", &v.sku, problem, None))
                            (variant_cell(i, "title", "Title", &v.title, problem, Some("e.g. Medium")))
                            (variant_cell(i, "options", "Options", &v.options, problem, Some("Size=M")))
                            (variant_cell(i, "price", &format!("Price ({currency})"), &v.price, problem, Some("19.99")))
                            @if v.existing {
                                div.field {
                                    span.label { "Stock" }
                                    a href=(format!("/admin/inventory/{}", crate::pages::encode(&v.sku))) { "Adjust" }
                                }
                            } @else {
                                (variant_cell(i, "stock", "Starting stock", &v.stock, problem, Some("0")))
                            }
                        }
                    }
                    @if let Some(message) = problem.and_then(|p| p.errors.iter().find(|e| e.field == "variants").map(|e| e.message.as_str())) {
                        p.error { (message) }
                    }
                }
                div.actions {
                    button.primary type="submit" { @if product.is_some() { "Save product" } @else { "Create product" } }
                    @if let Some(p) = product {
                        @if p.status != "archived" {
                            " " a href=(format!("/admin/products/{}/archive", p.id)) { "Archive…" }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /admin/products/{id}/archive`.
pub fn archive_confirm(chrome: &AdminChrome, p: &Product) -> Markup {
    page(
        chrome,
        "Archive product",
        html! {
            h1 { "Archive “" (p.name) "”?" }
            p { "It leaves the shop at once: customers can no longer find or buy it. Orders already placed are not affected. You can publish it again later." }
            (confirm_form(&chrome.csrf, &format!("/admin/products/{}/archive", p.id), "Archive product", true, html! {}, &format!("/admin/products/{}", p.id)))
        },
    )
}

fn parent_select(
    all: &[Category],
    selected: &str,
    exclude: Option<&str>,
    problem: Option<&ApiProblem>,
) -> Markup {
    let error = problem.and_then(|p| p.field("parent_id"));
    // A category cannot move under itself or its own descendants.
    let excluded: Vec<&str> = match exclude {
        None => Vec::new(),
        Some(id) => {
            let mut out = vec![id];
            let mut grew = true;
            while grew {
                grew = false;
                for c in all {
                    if let Some(parent) = c.parent_id.as_deref()
                        && out.contains(&parent)
                        && !out.contains(&c.id.as_str())
                    {
                        out.push(&c.id);
                        grew = true;
                    }
                }
            }
            out
        }
    };
    html! {
        div class=(if error.is_some() { "field invalid" } else { "field" }) {
            label for="f-parent_id" { "Parent" }
            select #f-parent_id name="parent_id" aria-invalid=[error.map(|_| "true")] {
                option value="" selected[selected.is_empty()] { "None (top level)" }
                @for (c, depth) in tree(all) {
                    @if !excluded.contains(&c.id.as_str()) {
                        option value=(c.id) selected[c.id == selected] { (indent(depth)) (c.name) }
                    }
                }
            }
            @if let Some(message) = error { p.error { (message) } }
        }
    }
}

/// `GET /admin/categories`.
pub fn categories(
    chrome: &AdminChrome,
    all: &[Category],
    draft: &CategoryDraft,
    problem: Option<&ApiProblem>,
) -> Markup {
    page(
        chrome,
        "Categories",
        html! {
            h1 { "Categories" }
            div.split {
                section aria-labelledby="tree" {
                    h2 #tree { "The tree" }
                    @if all.is_empty() {
                        p.empty { "No categories yet." }
                    } @else {
                        table.lines {
                            caption.visually-hidden { "Categories in tree order" }
                            thead { tr { th scope="col" { "Name" } th scope="col" { "Slug" } th scope="col" { "Actions" } } }
                            tbody {
                                @for (c, depth) in tree(all) {
                                    tr {
                                        td data-label="Name" { span.muted { (indent(depth)) } (c.name) }
                                        td data-label="Slug" { a href=(format!("/c/{}", c.slug)) { (c.slug) } }
                                        td data-label="Actions" {
                                            a href=(format!("/admin/categories/{}", c.id)) aria-label=(format!("Rename or move {}", c.name)) { "Rename or move" }
                                            " · "
                                            a href=(format!("/admin/categories/{}/delete", c.id)) aria-label=(format!("Delete {}", c.name)) { "Delete…" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                section aria-labelledby="new-category" {
                    h2 #new-category { "New category" }
                    (form_problem(problem))
                    form.admin-form method="post" action="/admin/categories" {
                        (super::csrf(&chrome.csrf))
                        (Field::new("name", "Name").value(&draft.name).render(problem))
                        (Field::new("slug", "Slug").value(&draft.slug).optional().hint("Left empty, it is made from the name.").render(problem))
                        (parent_select(all, &draft.parent_id, None, problem))
                        button.primary type="submit" { "Create category" }
                    }
                }
            }
        },
    )
}

/// `GET /admin/categories/{id}`.
pub fn category_form(
    chrome: &AdminChrome,
    c: &Category,
    all: &[Category],
    draft: &CategoryDraft,
    problem: Option<&ApiProblem>,
) -> Markup {
    page(
        chrome,
        "Edit category",
        html! {
            p { a href="/admin/categories" { "← Categories" } }
            h1 { "Rename or move “" (c.name) "”" }
            (form_problem(problem))
            form.admin-form.narrow method="post" action=(format!("/admin/categories/{}", c.id)) {
                (super::csrf(&chrome.csrf))
                (Field::new("name", "Name").value(&draft.name).render(problem))
                (Field::new("slug", "Slug").value(&draft.slug).hint("Changing it changes the category's address in the shop.").render(problem))
                (parent_select(all, &draft.parent_id, Some(&c.id), problem))
                button.primary type="submit" { "Save category" }
            }
        },
    )
}

/// `GET /admin/categories/{id}/delete`, and its refusal.
pub fn delete_category_confirm(
    chrome: &AdminChrome,
    c: &Category,
    all: &[Category],
    problem: Option<&ApiProblem>,
) -> Markup {
    let children: Vec<&Category> = all
        .iter()
        .filter(|x| x.parent_id.as_deref() == Some(c.id.as_str()))
        .collect();
    page(
        chrome,
        "Delete category",
        html! {
            p { a href="/admin/categories" { "← Categories" } }
            h1 { "Delete “" (c.name) "”?" }
            (form_problem(problem))
            @if !children.is_empty() {
                p { "It has sub-categories: "
                    @for (i, child) in children.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(format!("/admin/categories/{}", child.id)) { (child.name) }
                    }
                    ". Move or delete them first." }
            }
            p { "Deleting cannot be undone. A category that still holds products cannot be deleted." }
            (confirm_form(&chrome.csrf, &format!("/admin/categories/{}/delete", c.id), "Delete category", true, html! {}, "/admin/categories"))
        },
    )
}
