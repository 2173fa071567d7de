//! The admin dashboard's templates: its own frame (navigation by section,
//! who is signed in) around the storefront's stylesheet and form parts.

pub mod catalog;
pub mod inventory;
pub mod orders;
pub mod people;

use maud::{DOCTYPE, Markup, html};

use super::{Field, csrf, form_problem, head, money};
use crate::{
    models::{ApiProblem, Money, OrderSummary, Stock},
    pages::admin::signals::Signals,
    session::Flash,
};

/// What every dashboard page's frame shows.
#[derive(Debug, Clone, Default)]
pub struct AdminChrome {
    pub shop_name: String,
    /// The signed-in admin's name; none on the sign-in page.
    pub admin: Option<String>,
    pub csrf: String,
    pub flash: Option<Flash>,
    /// The navigation entry of this page.
    pub section: &'static str,
}

const SECTIONS: &[(&str, &str, &str)] = &[
    ("overview", "/admin", "Overview"),
    ("orders", "/admin/orders", "Orders"),
    ("products", "/admin/products", "Products"),
    ("categories", "/admin/categories", "Categories"),
    ("inventory", "/admin/inventory", "Inventory"),
    ("customers", "/admin/customers", "Customers"),
    ("notifications", "/admin/notifications", "Notifications"),
];

/// A whole dashboard page.
pub fn page(chrome: &AdminChrome, title: &str, body: Markup) -> Markup {
    let shop = if chrome.shop_name.is_empty() {
        "Mercato"
    } else {
        chrome.shop_name.as_str()
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · {shop} admin"), Some(html! { meta name="robots" content="noindex"; })))
            body.admin {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    div.bar {
                        a.brand href="/admin" { (shop) " " span.muted { "admin" } }
                        @if let Some(name) = &chrome.admin {
                            nav.account aria-label="Session" {
                                span { "Signed in as " strong { (name) } }
                                a href="/" { "View shop" }
                                form.inline action="/admin/logout" method="post" {
                                    (csrf(&chrome.csrf))
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                    @if chrome.admin.is_some() {
                        nav.departments aria-label="Dashboard" {
                            ul {
                                @for (key, href, label) in SECTIONS {
                                    li {
                                        a href=(href) aria-current=[(*key == chrome.section).then_some("page")] { (label) }
                                    }
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
            }
        }
    }
}

/// `GET /admin/login`.
pub fn login(
    chrome: &AdminChrome,
    email: &str,
    next: &str,
    problem: Option<&ApiProblem>,
) -> Markup {
    page(
        chrome,
        "Sign in",
        html! {
            section.narrow {
                h1 { "Sign in to the dashboard" }
                p.muted { "For the shop's admins. Customers sign in at " a href="/account/login" { "their account" } "." }
                (form_problem(problem))
                form method="post" action="/admin/login" {
                    (csrf(&chrome.csrf))
                    input type="hidden" name="next" value=(next);
                    (Field::new("email", "Email").kind("email").value(email).autocomplete("email").render(problem))
                    (Field::new("password", "Password").kind("password").autocomplete("current-password").render(problem))
                    button.primary type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// A signed-in customer at `/admin`.
pub fn refused(chrome: &AdminChrome) -> Markup {
    page(
        chrome,
        "Not allowed",
        html! {
            section.notice {
                h1 { "This page is for the shop's admins" }
                p { "You are signed in with a customer account, which cannot open the admin dashboard." }
                p { a.button href="/" { "Back to the shop" } " " a href="/account" { "Your account" } }
            }
        },
    )
}

/// A message page (not found, refused, the API down).
pub fn message_page(
    chrome: &AdminChrome,
    title: &str,
    message: &str,
    request_id: Option<&str>,
) -> Markup {
    page(
        chrome,
        title,
        html! {
            section.notice {
                h1 { (title) }
                p { (message) }
                @if let Some(id) = request_id { p.muted { "Reference: " code { (id) } } }
                p { a.button href="/admin" { "Back to the overview" } }
            }
        },
    )
}

/// The overview's figures.
pub struct Overview<'a> {
    pub today: &'a OrderSummary,
    pub week: &'a OrderSummary,
    pub low_stock: &'a [Stock],
    pub more_low_stock: bool,
    pub signals: &'a Signals,
    pub stuck_after_minutes: u64,
}

fn revenue(list: &[Money]) -> Markup {
    html! {
        @if list.is_empty() { "0" }
        @for (i, m) in list.iter().enumerate() {
            @if i > 0 { ", " }
            (money(m))
        }
    }
}

/// `GET /admin`.
pub fn overview(chrome: &AdminChrome, o: &Overview<'_>) -> Markup {
    let count = |status: &str| o.week.by_status.get(status).copied().unwrap_or(0);
    let waiting = count("paid");
    page(
        chrome,
        "Overview",
        html! {
            h1 { "Overview" }
            section aria-labelledby="sales" {
                h2 #sales { "Sales" }
                table.lines.figures {
                    thead { tr { th scope="col" { "" } th scope="col" { "Today" } th scope="col" { "This week" } } }
                    tbody {
                        tr { th scope="row" { "Orders placed" } td data-label="Today" { (o.today.placed) } td data-label="This week" { (o.week.placed) } }
                        tr { th scope="row" { "Orders paid" } td data-label="Today" { (o.today.paid) } td data-label="This week" { (o.week.paid) } }
                        tr { th scope="row" { "Revenue (paid orders)" } td data-label="Today" { (revenue(&o.today.revenue)) } td data-label="This week" { (revenue(&o.week.revenue)) } }
                        tr { th scope="row" { "Payments failed" } td data-label="Today" { (o.today.payments_failed) } td data-label="This week" { (o.week.payments_failed) } }
                    }
                }
                p.muted { "Days and weeks begin at midnight UTC; weeks on Monday." }
            }
            div.tiles {
                section.tile aria-labelledby="to-ship" {
                    h2 #to-ship { "Waiting to ship" }
                    p.figure { (waiting) }
                    p { a href="/admin/orders?status=paid" { "Paid orders to ship" } }
                }
                section.tile aria-labelledby="saga" {
                    h2 #saga { "Checkout health" }
                    dl.facts {
                        dt { "Stuck awaiting payment" }
                        dd {
                            span class=(if o.week.stuck_awaiting_payment > 0 { "tag" } else { "tag ok" }) { (o.week.stuck_awaiting_payment) }
                            " longer than " (o.stuck_after_minutes) " min"
                            @if o.week.stuck_awaiting_payment > 0 { " · " a href="/admin/orders?status=awaiting_payment" { "see them" } }
                        }
                        dt { "Dead letters" }
                        dd {
                            @match o.signals.dead_letters {
                                Some(n) => { span class=(if n > 0.0 { "tag" } else { "tag ok" }) { (format!("{n:.0}")) } " " (o.signals.dead_letters_window) }
                                None => { "unknown" }
                            }
                        }
                        dt { "Outbox lag" }
                        dd {
                            @match o.signals.outbox_lag_secs {
                                Some(s) => { span class=(if s > 30.0 { "tag" } else { "tag ok" }) { (format!("{s:.1} s")) } }
                                None => { "unknown" }
                            }
                        }
                    }
                    p.muted { "From " (o.signals.source) "." }
                }
                section.tile aria-labelledby="orders-now" {
                    h2 #orders-now { "Orders by status" }
                    dl.facts {
                        @for status in orders::STATUSES {
                            dt { a href=(format!("/admin/orders?status={status}")) { (orders::status_name(status)) } }
                            dd { (count(status)) }
                        }
                    }
                }
            }
            section aria-labelledby="low" {
                h2 #low { "Low stock" }
                @if o.low_stock.is_empty() {
                    p { "Every SKU has at least " (crate::pages::admin::LOW_STOCK) " units available." }
                } @else {
                    (inventory::stock_table(o.low_stock, "Variants with few units available"))
                    @if o.more_low_stock { p { a href="/admin/inventory?low=1" { "All low-stock variants" } } }
                }
            }
        },
    )
}

/// `2026-12-03 14:05` from an RFC 3339 time (UTC as the API gives it).
pub fn when(rfc3339: &str) -> Markup {
    let shown = match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(clock)) => format!("{day} {clock}"),
        _ => rfc3339.to_owned(),
    };
    html! { time datetime=(rfc3339) { (shown) } }
}

/// The confirmation step every destructive action goes through.
pub fn confirm_form(
    csrf_token: &str,
    action: &str,
    button: &str,
    danger: bool,
    fields: Markup,
    cancel_href: &str,
) -> Markup {
    html! {
        form.confirm method="post" action=(action) {
            (csrf(csrf_token))
            (fields)
            div.actions {
                button class=(if danger { "primary danger" } else { "primary" }) type="submit" { (button) }
                " "
                a href=(cancel_href) { "Go back" }
            }
        }
    }
}
