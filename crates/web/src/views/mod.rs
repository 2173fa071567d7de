//! Templates, checked at compile time (maud): every value is escaped
//! unless marked otherwise, and a missing field is a build error.

pub mod account;
pub mod admin;
pub mod cart;
pub mod checkout;
pub mod shop;

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use crate::{
    assets,
    models::{ApiProblem, Category, Money},
    pages::AddressForm,
    session::Flash,
};

/// What every page's frame shows.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub shop_name: String,
    /// The logged-in customer's name.
    pub customer: Option<String>,
    pub cart_count: i64,
    pub csrf: String,
    pub flash: Option<Flash>,
    /// Top-level categories for the navigation.
    pub departments: Vec<Category>,
}

/// A whole page. `extra_head` carries a page's own additions (a refresh
/// while an order settles, Stripe.js).
pub fn page(chrome: &Chrome, title: &str, extra_head: Option<Markup>, body: Markup) -> Markup {
    let shop = if chrome.shop_name.is_empty() {
        "Mercato"
    } else {
        chrome.shop_name.as_str()
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · {shop}"), extra_head))
            body {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    div.bar {
                        a.brand href="/" { (shop) }
                        form.search role="search" action="/search" method="get" {
                            label.visually-hidden for="site-search" { "Search products" }
                            input #site-search type="search" name="q" placeholder="Search products" maxlength="200" aria-label="Search products";
                            button type="submit" { "Search" }
                        }
                        nav.account aria-label="Account" {
                            @if let Some(name) = &chrome.customer {
                                a href="/account" { "Hi, " (name) }
                                form.inline action="/account/logout" method="post" {
                                    (csrf(&chrome.csrf))
                                    button.link type="submit" { "Log out" }
                                }
                            } @else {
                                a href="/account/login" { "Log in" }
                                a href="/account/register" { "Register" }
                            }
                            a.cart-link href="/cart" {
                                "Cart"
                                span.badge data-cart-count aria-label=(format!("{} items", chrome.cart_count)) { (chrome.cart_count) }
                            }
                        }
                    }
                    @if !chrome.departments.is_empty() {
                        nav.departments aria-label="Departments" {
                            ul {
                                @for d in &chrome.departments {
                                    li { a href=(format!("/c/{}", d.slug)) { (d.name) } }
                                }
                            }
                        }
                    }
                }
                main #main tabindex="-1" {
                    div.flash-slot aria-live="polite" {
                        @if let Some(flash) = &chrome.flash {
                            p class=(if flash.ok { "flash ok" } else { "flash error" }) role=(if flash.ok { "status" } else { "alert" }) { (flash.text) }
                        }
                    }
                    (body)
                }
                footer.site {
                    p { (shop) " · demo shop running on Mercato · "
                        a href="/docs" { "API" } }
                }
            }
        }
    }
}

/// The `<head>` of every page, the shop's and the dashboard's: the one
/// stylesheet and script, and a page's own additions.
pub fn head(title: &str, extra: Option<Markup>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            link rel="stylesheet" href=(assets::css_path());
            script src=(assets::js_path()) defer {}
            @if let Some(extra) = extra { (extra) }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}

/// A price.
pub fn money(m: &Money) -> Markup {
    html! { (crate::money::format(m)) }
}

/// A labelled input with the API's message for it, if any.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub required: bool,
    pub autocomplete: &'a str,
    pub hint: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Self {
        Self {
            name,
            label,
            kind: "text",
            value: "",
            required: true,
            autocomplete: "off",
            hint: None,
        }
    }
    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }
    pub fn value(mut self, value: &'a str) -> Self {
        self.value = value;
        self
    }
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    /// The browser's autofill token; empty leaves the attribute out.
    pub fn autocomplete(mut self, autocomplete: &'a str) -> Self {
        self.autocomplete = autocomplete;
        self
    }
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The field, with `problem`'s message for it.
    pub fn render(&self, problem: Option<&ApiProblem>) -> Markup {
        let id = format!("f-{}", self.name);
        let error = problem.and_then(|p| p.field(self.name));
        let error_id = format!("{id}-error");
        let hint_id = format!("{id}-hint");
        let described = match (error.is_some(), self.hint.is_some()) {
            (true, true) => Some(format!("{error_id} {hint_id}")),
            (true, false) => Some(error_id.clone()),
            (false, true) => Some(hint_id.clone()),
            (false, false) => None,
        };
        html! {
            div class=(if error.is_some() { "field invalid" } else { "field" }) {
                label for=(id) { (self.label) @if !self.required { span.optional { " (optional)" } } }
                input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                    autocomplete=[(!self.autocomplete.is_empty()).then_some(self.autocomplete)]
                    required[self.required]
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[described];
                @if let Some(hint) = self.hint { p.hint id=(hint_id) { (hint) } }
                @if let Some(message) = error { p.error id=(error_id) { (message) } }
            }
        }
    }
}

/// The fields of an address; `section` qualifies the browser's autofill
/// (`"shipping "` at checkout). The API's messages find their field by its
/// last name segment (`shipping_address.city` at `city`).
pub fn address_fields(form: &AddressForm, section: &str, problem: Option<&ApiProblem>) -> Markup {
    let auto = |token: &str| format!("{section}{token}");
    let (name, line1, line2, city, region, postal, country, tel) = (
        auto("name"),
        auto("address-line1"),
        auto("address-line2"),
        auto("address-level2"),
        auto("address-level1"),
        auto("postal-code"),
        auto("country"),
        auto("tel"),
    );
    html! {
        (Field::new("name", "Full name").value(&form.name).autocomplete(&name).render(problem))
        (Field::new("line1", "Address").value(&form.line1).autocomplete(&line1).render(problem))
        (Field::new("line2", "Apartment, floor, company").value(&form.line2).optional().autocomplete(&line2).render(problem))
        (Field::new("city", "City").value(&form.city).autocomplete(&city).render(problem))
        (Field::new("region", "State or region").value(&form.region).optional().autocomplete(&region).render(problem))
        (Field::new("postal_code", "Postal code").value(&form.postal_code).autocomplete(&postal).render(problem))
        (Field::new("country", "Country code").value(&form.country).autocomplete(&country)
            .hint("Two letters, e.g. US, GB, DE.").render(problem))
        (Field::new("phone", "Phone").kind("tel").value(&form.phone).optional().autocomplete(&tel).render(problem))
    }
}

/// The problem at the top of a form: its message, and the fields it names
/// that the form has no place for.
pub fn form_problem(problem: Option<&ApiProblem>) -> Markup {
    html! {
        @if let Some(p) = problem {
            div.form-error role="alert" {
                p { (p.message()) }
            }
        }
    }
}

/// 404 with navigation back into the shop.
pub fn not_found(chrome: &Chrome) -> Markup {
    page(
        chrome,
        "Page not found",
        None,
        html! {
            section.notice {
                h1 { "We could not find that page" }
                p { "The link may be old, or the product is no longer sold." }
                p { a.button href="/" { "Back to the shop" } " " a href="/search" { "Search the catalog" } }
            }
        },
    )
}

/// An error with the API's request id, so support can find it in the logs.
pub fn error(chrome: &Chrome, message: &str, request_id: Option<&str>) -> Markup {
    page(
        chrome,
        "Something went wrong",
        None,
        html! {
            section.notice {
                h1 { "Something went wrong" }
                p { (message) }
                @if let Some(id) = request_id { p.muted { "Reference: " code { (id) } } }
                p { a.button href="/" { "Back to the shop" } }
            }
        },
    )
}

/// An error page that needs nothing from the API.
pub fn bare_error(status: StatusCode, message: &str) -> Markup {
    page(
        &Chrome::default(),
        status.canonical_reason().unwrap_or("Error"),
        None,
        html! {
            section.notice {
                h1 { (status.canonical_reason().unwrap_or("Error")) }
                p { (message) }
                p { a.button href="/" { "Back to the shop" } }
            }
        },
    )
}

/// "More products" as a link, keeping the other query parameters.
pub fn pagination(next_href: Option<String>) -> Markup {
    next_page(next_href, "More products")
}

/// The next page of a list as a link labelled `label`.
pub fn next_page(next_href: Option<String>, label: &str) -> Markup {
    html! {
        @if let Some(href) = next_href {
            nav.pagination aria-label="Pagination" {
                a.button rel="next" href=(href) { (label) }
            }
        }
    }
}
