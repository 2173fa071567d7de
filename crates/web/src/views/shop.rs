//! Home, listings and the product page.

use maud::{Markup, html};

use super::{Chrome, csrf, money, page, pagination};
use crate::{
    models::{Category, Product},
    pages::shop::{Filters, SORTS},
};

/// A product in a grid.
fn card(p: &Product) -> Markup {
    let href = format!("/p/{}", p.slug);
    html! {
        li.card {
            a href=(href) {
                @if let Some(image) = p.images.first() {
                    img src=(image) alt="" width="400" height="400" loading="lazy";
                } @else {
                    div.placeholder aria-hidden="true" {}
                }
                h3 { (p.name) }
            }
            p.price {
                @if let Some(from) = p.from_price() {
                    @if p.has_price_range() { "from " }
                    (money(from))
                }
            }
            @if p.available() == 0 { p.stock.out { "Sold out" } }
        }
    }
}

fn grid(products: &[Product]) -> Markup {
    html! {
        @if products.is_empty() {
            p.empty { "No products match. Try fewer filters or another search." }
        } @else {
            ul.grid { @for p in products { (card(p)) } }
        }
    }
}

/// `GET /`.
pub fn home(chrome: &Chrome, categories: &[Category], featured: &[Product]) -> Markup {
    let departments: Vec<&Category> = categories
        .iter()
        .filter(|c| c.parent_id.is_none())
        .collect();
    page(
        chrome,
        "Home",
        None,
        html! {
            section.hero {
                h1 { "Welcome to " (chrome.shop_name) }
                p { "Well-made things for every day, delivered to your door." }
            }
            @if !departments.is_empty() {
                section aria-labelledby="shop-by" {
                    h2 #shop-by { "Shop by department" }
                    ul.departments-grid {
                        @for d in &departments {
                            li {
                                a href=(format!("/c/{}", d.slug)) {
                                    span.name { (d.name) }
                                    span.subs {
                                        @for (i, c) in categories.iter().filter(|c| c.parent_id.as_deref() == Some(d.id.as_str())).enumerate() {
                                            @if i > 0 { ", " }
                                            (c.name)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="featured" {
                h2 #featured { "New in" }
                (grid(featured))
            }
        },
    )
}

/// What a listing page shows.
pub struct Listing<'a> {
    pub base: &'a str,
    pub category: Option<&'a Category>,
    pub parent: Option<&'a Category>,
    pub children: &'a [Category],
    pub filters: &'a Filters,
    pub sort: &'a str,
    /// (field, message) of filters that could not be read.
    pub errors: &'a [(&'static str, &'static str)],
    pub products: &'a [Product],
    pub next_href: Option<String>,
    pub first_page: bool,
}

/// A category page or search results, with filters, sort and more.
pub fn listing(chrome: &Chrome, l: &Listing<'_>) -> Markup {
    let title = match (l.category, l.filters.q.trim()) {
        (Some(c), _) => c.name.clone(),
        (None, "") => "All products".to_owned(),
        (None, q) => format!("Results for “{q}”"),
    };
    let error = |field: &str| l.errors.iter().find(|(f, _)| *f == field).map(|(_, m)| *m);
    let general = error("");
    page(
        chrome,
        &title,
        None,
        html! {
            @if let Some(c) = l.category {
                nav.breadcrumbs aria-label="Breadcrumb" {
                    ol {
                        li { a href="/" { "Home" } }
                        @if let Some(p) = l.parent { li { a href=(format!("/c/{}", p.slug)) { (p.name) } } }
                        li { a href=(format!("/c/{}", c.slug)) aria-current="page" { (c.name) } }
                    }
                }
            }
            h1 { (title) }
            @if !l.children.is_empty() {
                ul.chips aria-label="Sub-categories" {
                    @for c in l.children { li { a href=(format!("/c/{}", c.slug)) { (c.name) } } }
                }
            }
            div.listing {
                form.filters action=(l.base) method="get" aria-label="Filters" {
                    @if let Some(message) = general { p.error role="alert" { (message) } }
                    @if l.category.is_none() {
                        div.field {
                            label for="f-q" { "Search" }
                            input #f-q type="search" name="q" value=(l.filters.q) maxlength="200";
                        }
                    }
                    fieldset {
                        legend { "Price" }
                        @for (name, label, value) in [("min_price", "From", &l.filters.min_price), ("max_price", "To", &l.filters.max_price)] {
                            @let id = format!("f-{name}");
                            @let message = error(name);
                            div class=(if message.is_some() { "field invalid" } else { "field" }) {
                                label for=(id) { (label) }
                                input id=(id) name=(name) inputmode="decimal" value=(value) size="6"
                                    aria-invalid=[message.map(|_| "true")]
                                    aria-describedby=[message.map(|_| format!("{id}-error"))];
                                @if let Some(m) = message { p.error id=(format!("{id}-error")) { (m) } }
                            }
                        }
                    }
                    div.field.check {
                        input #f-in-stock type="checkbox" name="in_stock" value="true" checked[!l.filters.in_stock.is_empty()];
                        label for="f-in-stock" { "In stock only" }
                    }
                    div.field {
                        label for="f-sort" { "Sort by" }
                        select #f-sort name="sort" {
                            @if !l.filters.q.is_empty() {
                                option value="relevance" selected[l.sort == "relevance"] { "Best match" }
                            }
                            @for (value, label) in SORTS {
                                option value=(value) selected[l.sort == *value || (l.sort.is_empty() && *value == "-created_at")] { (label) }
                            }
                        }
                    }
                    button type="submit" { "Apply" }
                }
                section.results aria-label="Products" {
                    @if !l.first_page { p.muted { a href=(l.base) { "Back to the first page" } } }
                    (grid(l.products))
                    (pagination(l.next_href.clone()))
                }
            }
        },
    )
}

/// The product page with its variant picker.
pub fn product(chrome: &Chrome, p: &Product, category: Option<&Category>) -> Markup {
    let first_available = p.variants.iter().position(|v| v.available > 0);
    let sold_out = first_available.is_none();
    page(
        chrome,
        &p.name,
        None,
        html! {
            nav.breadcrumbs aria-label="Breadcrumb" {
                ol {
                    li { a href="/" { "Home" } }
                    @if let Some(c) = category { li { a href=(format!("/c/{}", c.slug)) { (c.name) } } }
                    li { a href=(format!("/p/{}", p.slug)) aria-current="page" { (p.name) } }
                }
            }
            article.product {
                div.gallery {
                    @for (i, image) in p.images.iter().enumerate() {
                        img src=(image) alt=(if i == 0 { p.name.clone() } else { format!("{}, view {}", p.name, i + 1) })
                            width="600" height="600" loading=(if i == 0 { "eager" } else { "lazy" });
                    }
                }
                div.buy {
                    h1 { (p.name) }
                    p.price.big data-price {
                        @if let Some(v) = first_available.and_then(|i| p.variants.get(i)).or(p.variants.first()) {
                            (money(&v.price))
                        }
                    }
                    form.add-to-cart action="/cart/items" method="post" data-enhance="cart" {
                        (csrf(&chrome.csrf))
                        input type="hidden" name="back" value=(format!("/p/{}", p.slug));
                        @if p.variants.len() > 1 {
                            fieldset.variants {
                                legend { (option_name(p)) }
                                @for (i, v) in p.variants.iter().enumerate() {
                                    @let id = format!("v-{}", v.id);
                                    div.variant {
                                        input id=(id) type="radio" name="variant_id" value=(v.id)
                                            checked[Some(i) == first_available] disabled[v.available <= 0]
                                            data-price=(crate::money::format(&v.price));
                                        label for=(id) {
                                            span.title { (v.title) }
                                            span.vprice { (money(&v.price)) }
                                            span.stock { (stock_label(v.available)) }
                                        }
                                    }
                                }
                            }
                        } @else if let Some(v) = p.variants.first() {
                            input type="hidden" name="variant_id" value=(v.id);
                            p.stock { (stock_label(v.available)) }
                        }
                        div.field.qty {
                            label for="f-quantity" { "Quantity" }
                            input #f-quantity type="number" name="quantity" value="1" min="1" max="99" inputmode="numeric" required;
                        }
                        button.primary type="submit" disabled[sold_out] { @if sold_out { "Sold out" } @else { "Add to cart" } }
                        p.added aria-live="polite" data-added {}
                    }
                    div.description {
                        h2 { "About this product" }
                        p { (p.description) }
                        @if !p.attributes.is_empty() {
                            dl.attributes {
                                @for (k, v) in &p.attributes {
                                    dt { (capitalise(k)) }
                                    dd { (v.as_str().map_or_else(|| v.to_string(), capitalise)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn option_name(p: &Product) -> String {
    p.variants
        .first()
        .and_then(|v| v.options.keys().next())
        .map_or_else(|| "Choose one".to_owned(), |k| capitalise(k))
}

fn stock_label(available: i64) -> String {
    match available {
        n if n <= 0 => "Sold out".to_owned(),
        n if n < 5 => format!("Only {n} left"),
        _ => "In stock".to_owned(),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().collect::<String>() + chars.as_str()
    })
}
