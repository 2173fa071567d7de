//! Customer accounts and the notification delivery log.

use maud::{Markup, html};
use serde::Deserialize;

use super::{AdminChrome, confirm_form, orders, page, when};
use crate::{
    models::{ApiProblem, Notification, Order, User},
    views::{Field, form_problem, next_page},
};

/// What the access form changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessChange {
    Disable,
    Enable,
    MakeAdmin,
    MakeCustomer,
}

impl AccessChange {
    /// From the form.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "disable" => Self::Disable,
            "enable" => Self::Enable,
            "admin" => Self::MakeAdmin,
            "customer" => Self::MakeCustomer,
            _ => return None,
        })
    }

    fn value(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::MakeAdmin => "admin",
            Self::MakeCustomer => "customer",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Disable => "Disable account",
            Self::Enable => "Enable account",
            Self::MakeAdmin => "Make admin",
            Self::MakeCustomer => "Make customer",
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Self::Disable => {
                "They are signed out everywhere and cannot sign in until the account is enabled again. Their orders are kept."
            }
            Self::Enable => "They can sign in again.",
            Self::MakeAdmin => {
                "They get full access to this dashboard: catalog, orders, refunds and accounts."
            }
            Self::MakeCustomer => "They lose access to this dashboard.",
        }
    }

    /// The message once done.
    pub fn done(self, email: &str) -> String {
        match self {
            Self::Disable => format!("{email} is disabled."),
            Self::Enable => format!("{email} can sign in again."),
            Self::MakeAdmin => format!("{email} is now an admin."),
            Self::MakeCustomer => format!("{email} is now a customer."),
        }
    }
}

/// `GET /admin/customers`.
pub fn customers(
    chrome: &AdminChrome,
    users: &[User],
    email: &str,
    next: Option<String>,
) -> Markup {
    page(
        chrome,
        "Customers",
        html! {
            h1 { "Customers" }
            form.filters-bar method="get" action="/admin/customers" role="search" aria-label="Find accounts" {
                div.field {
                    label for="f-email" { "Email contains" }
                    input #f-email type="search" name="email" value=(email) maxlength="320";
                }
                button type="submit" { "Search" }
            }
            @if users.is_empty() {
                p.empty { "No accounts match." }
            } @else {
                table.lines {
                    caption.visually-hidden { "Accounts, newest first" }
                    thead { tr { th scope="col" { "Email" } th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "State" } th scope="col" { "Registered" } } }
                    tbody {
                        @for u in users {
                            tr {
                                td data-label="Email" { a href=(format!("/admin/customers/{}", u.id)) { (u.email) } }
                                td data-label="Name" { (u.name) }
                                td data-label="Role" { (u.role) }
                                td data-label="State" { @if u.disabled { span.tag { "disabled" } } @else { span class="tag ok" { "active" } } }
                                td data-label="Registered" { (when(&u.created_at)) }
                            }
                        }
                    }
                }
                (next_page(next, "Next page"))
            }
        },
    )
}

/// `GET /admin/customers/{id}`.
pub fn customer(
    chrome: &AdminChrome,
    u: &User,
    orders: &[Order],
    more: Option<String>,
    problem: Option<&ApiProblem>,
) -> Markup {
    let changes = [
        if u.disabled {
            AccessChange::Enable
        } else {
            AccessChange::Disable
        },
        if u.role == "admin" {
            AccessChange::MakeCustomer
        } else {
            AccessChange::MakeAdmin
        },
    ];
    page(
        chrome,
        &u.email,
        html! {
            p { a href="/admin/customers" { "← Customers" } }
            h1 { (u.name) }
            (form_problem(problem))
            dl.facts {
                dt { "Email" } dd { (u.email) @if u.email_verified { " " span class="tag ok" { "verified" } } @else { " " span.tag.neutral { "not verified" } } }
                @if let Some(phone) = &u.phone { dt { "Phone" } dd { (phone) } }
                dt { "Role" } dd { (u.role) }
                dt { "State" } dd { @if u.disabled { "disabled" } @else { "active" } }
                dt { "Registered" } dd { (when(&u.created_at)) }
            }
            nav.actions aria-label="Account actions" {
                @for change in changes {
                    a.button href=(format!("/admin/customers/{}/access?change={}", u.id, change.value())) { (change.label()) "…" }
                    " "
                }
                a href=(format!("/admin/notifications?{}", crate::pages::query(&[("to", &u.email)]))) { "Messages sent" }
            }
            h2 { "Orders" }
            @if orders.is_empty() {
                p { "No orders yet." }
            } @else {
                (orders::table(orders, "This customer's orders, newest first"))
                @if let Some(href) = more { p { a href=(href) { "All their orders" } } }
            }
        },
    )
}

/// `GET /admin/customers/{id}/access`.
pub fn access_confirm(chrome: &AdminChrome, u: &User, change: AccessChange) -> Markup {
    let back = format!("/admin/customers/{}", u.id);
    page(
        chrome,
        change.label(),
        html! {
            p { a href=(back) { "← " (u.email) } }
            h1 { (change.label()) ": " (u.email) "?" }
            p { (change.explain()) }
            (confirm_form(&chrome.csrf, &format!("/admin/customers/{}/access", u.id), change.label(),
                matches!(change, AccessChange::Disable | AccessChange::MakeAdmin),
                html! { input type="hidden" name="change" value=(change.value()); }, &back))
        },
    )
}

/// The delivery log's filters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeliveryFilters {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub cursor: String,
}

fn select(name: &str, label: &str, value: &str, options: &[(&str, &str)]) -> Markup {
    html! {
        div.field {
            label for=(format!("f-{name}")) { (label) }
            select id=(format!("f-{name}")) name=(name) {
                @for (v, l) in options { option value=(v) selected[*v == value] { (l) } }
            }
        }
    }
}

/// `GET /admin/notifications`.
pub fn notifications(
    chrome: &AdminChrome,
    items: &[Notification],
    f: &DeliveryFilters,
    next: Option<String>,
    problem: Option<&ApiProblem>,
) -> Markup {
    page(
        chrome,
        "Notifications",
        html! {
            h1 { "Notifications" }
            (form_problem(problem))
            form.filters-bar method="get" action="/admin/notifications" role="search" aria-label="Filter messages" {
                (select("status", "Status", &f.status, &[("", "Any"), ("queued", "Queued"), ("sent", "Sent"), ("failed", "Failed")]))
                (select("channel", "Channel", &f.channel, &[("", "Any"), ("email", "Email"), ("sms", "SMS")]))
                (Field::new("template", "Template").value(&f.template).optional().hint("e.g. order_shipped").render(problem))
                (Field::new("to", "Recipient").value(&f.to).optional().render(problem))
                button type="submit" { "Filter" }
            }
            @if items.is_empty() {
                p.empty { "No messages match." }
            } @else {
                table.lines {
                    caption.visually-hidden { "Messages, newest first" }
                    thead { tr { th scope="col" { "Queued" } th scope="col" { "To" } th scope="col" { "Message" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Sent" } } }
                    tbody {
                        @for n in items {
                            tr {
                                td data-label="Queued" { (when(&n.created_at)) }
                                td data-label="To" { (n.channel) ": " (n.to) }
                                td data-label="Message" { code { (n.template) } @if !n.subject.is_empty() { br; (n.subject) } }
                                td data-label="Status" {
                                    span class=(match n.status.as_str() { "sent" => "tag ok", "failed" => "tag", _ => "tag neutral" }) { (n.status) }
                                }
                                td data-label="Attempts" { (n.attempts) }
                                td data-label="Sent" { @if let Some(at) = &n.sent_at { (when(at)) } }
                            }
                        }
                    }
                }
                (next_page(next, "Next page"))
            }
        },
    )
}
