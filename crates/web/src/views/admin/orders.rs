//! Orders and the actions on them.

use maud::{Markup, html};
use serde::Deserialize;

use super::{AdminChrome, confirm_form, page, when};
use crate::{
    models::{ApiProblem, Order, Payment},
    pages::admin::orders::remaining,
    views::{Field, checkout::address_line, form_problem, money, next_page},
};

/// The list's filters, as the form sends them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderFilters {
    #[serde(default)]
    pub status: String,
    /// An email or a customer id.
    #[serde(default)]
    pub customer: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub cursor: String,
}

/// What an admin can do to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ship,
    Deliver,
    Cancel,
    Refund,
}

impl Action {
    /// From the URL.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "ship" => Self::Ship,
            "deliver" => Self::Deliver,
            "cancel" => Self::Cancel,
            "refund" => Self::Refund,
            _ => return None,
        })
    }

    fn slug(self) -> &'static str {
        match self {
            Self::Ship => "ship",
            Self::Deliver => "deliver",
            Self::Cancel => "cancel",
            Self::Refund => "refund",
        }
    }

    /// The status the action leaves the order in, if it changes it.
    pub fn reached(self) -> Option<&'static str> {
        match self {
            Self::Ship => Some("shipped"),
            Self::Deliver => Some("delivered"),
            Self::Cancel => Some("cancelled"),
            Self::Refund => None,
        }
    }
}

/// What an action's form posts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub carrier: String,
    #[serde(default)]
    pub tracking_number: String,
    #[serde(default)]
    pub reason: String,
    /// A refund's amount in major units.
    #[serde(default)]
    pub amount: String,
    /// The submission's idempotency key.
    #[serde(default)]
    pub key: String,
}

pub const STATUSES: &[&str] = &[
    "pending",
    "awaiting_payment",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
];

/// A status for people.
pub fn status_name(status: &str) -> &str {
    match status {
        "pending" => "Pending",
        "awaiting_payment" => "Awaiting payment",
        "paid" => "Paid",
        "shipped" => "Shipped",
        "delivered" => "Delivered",
        "cancelled" => "Cancelled",
        other => other,
    }
}

fn status_tag(status: &str) -> Markup {
    let class = match status {
        "paid" | "shipped" | "delivered" => "tag ok",
        "cancelled" => "tag",
        _ => "tag neutral",
    };
    html! { span class=(class) { (status_name(status)) } }
}

/// A table of orders.
pub fn table(orders: &[Order], caption: &str) -> Markup {
    html! {
        table.lines {
            caption.visually-hidden { (caption) }
            thead { tr { th scope="col" { "Order" } th scope="col" { "Placed" } th scope="col" { "Customer" } th scope="col" { "Status" } th scope="col" { "Payment" } th scope="col" { "Total" } } }
            tbody {
                @for o in orders {
                    tr {
                        td data-label="Order" { a href=(format!("/admin/orders/{}", o.id)) { (o.number) } }
                        td data-label="Placed" { (when(&o.created_at)) }
                        td data-label="Customer" {
                            (o.email)
                            @if o.customer_id.is_none() { " " span.muted { "(guest)" } }
                        }
                        td data-label="Status" { (status_tag(&o.status)) }
                        td data-label="Payment" { (o.payment_status) }
                        td data-label="Total" { (money(&o.total)) }
                    }
                }
            }
        }
    }
}

/// `GET /admin/orders`.
pub fn list(
    chrome: &AdminChrome,
    orders: &[Order],
    f: &OrderFilters,
    next: Option<String>,
    problem: Option<&ApiProblem>,
) -> Markup {
    page(
        chrome,
        "Orders",
        html! {
            h1 { "Orders" }
            (form_problem(problem))
            form.filters-bar method="get" action="/admin/orders" role="search" aria-label="Filter orders" {
                div.field {
                    label for="f-status" { "Status" }
                    select #f-status name="status" {
                        option value="" selected[f.status.is_empty()] { "Any" }
                        @for s in STATUSES {
                            option value=(s) selected[f.status == *s] { (status_name(s)) }
                        }
                    }
                }
                (Field::new("customer", "Customer").value(&f.customer).optional().hint("Email or account id").render(problem))
                (Field::new("from", "Placed from").kind("date").value(&f.from).optional().autocomplete("").render(problem))
                (Field::new("to", "Placed until").kind("date").value(&f.to).optional().autocomplete("").render(problem))
                button type="submit" { "Filter" }
            }
            @if orders.is_empty() {
                p.empty { "No orders match." }
            } @else {
                (table(orders, "Orders, newest first"))
                (next_page(next, "Next page"))
            }
        },
    )
}

fn actions(order: &Order, payments: &[Payment]) -> Vec<(Action, &'static str)> {
    let mut out = Vec::new();
    match order.status.as_str() {
        "paid" => out.push((Action::Ship, "Ship…")),
        "shipped" => out.push((Action::Deliver, "Mark delivered…")),
        _ => {}
    }
    if matches!(
        order.status.as_str(),
        "pending" | "awaiting_payment" | "paid"
    ) {
        out.push((Action::Cancel, "Cancel order…"));
    }
    if payments
        .iter()
        .any(|p| matches!(p.status.as_str(), "succeeded" | "partially_refunded"))
        && order.status != "cancelled"
    {
        out.push((Action::Refund, "Refund…"));
    }
    out
}

/// `GET /admin/orders/{id}`.
pub fn show(chrome: &AdminChrome, o: &Order, payments: &[Payment]) -> Markup {
    page(
        chrome,
        &format!("Order {}", o.number),
        html! {
            p { a href="/admin/orders" { "← Orders" } }
            div.heading {
                h1 { "Order " (o.number) }
                (status_tag(&o.status))
            }
            @let actions = actions(o, payments);
            @if !actions.is_empty() {
                nav.actions aria-label="Order actions" {
                    @for (action, label) in actions {
                        a.button href=(format!("/admin/orders/{}/{}", o.id, action.slug())) { (label) }
                        " "
                    }
                }
            }
            div.order {
                section {
                    h2 { "Items" }
                    table.lines {
                        caption.visually-hidden { "Items of this order" }
                        thead { tr { th scope="col" { "Product" } th scope="col" { "SKU" } th scope="col" { "Quantity" } th scope="col" { "Price" } th scope="col" { "Total" } } }
                        tbody {
                            @for i in &o.items {
                                tr {
                                    td data-label="Product" { (i.product_name) }
                                    td data-label="SKU" { a href=(format!("/admin/inventory/{}", crate::pages::encode(&i.sku))) { (i.sku) } }
                                    td data-label="Quantity" { (i.quantity) }
                                    td data-label="Price" { (money(&i.unit_price)) }
                                    td data-label="Total" { (money(&i.line_total)) }
                                }
                            }
                        }
                    }
                    h2 { "Payments" }
                    @if payments.is_empty() {
                        p { "No payment yet." }
                    } @else {
                        table.lines {
                            caption.visually-hidden { "Payments of this order" }
                            thead { tr { th scope="col" { "Provider" } th scope="col" { "Status" } th scope="col" { "Amount" } th scope="col" { "Refunded" } } }
                            tbody {
                                @for p in payments {
                                    tr {
                                        td data-label="Provider" { (p.provider) }
                                        td data-label="Status" { (p.status) @if let Some(code) = &p.failure_code { " (" (code) ")" } }
                                        td data-label="Amount" { (money(&p.amount)) }
                                        td data-label="Refunded" { @if let Some(r) = &p.refunded_amount { (money(r)) } }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "History" }
                    ol.history {
                        @for h in &o.history {
                            li { (when(&h.at)) " · " strong { (status_name(&h.status)) }
                                @if let Some(note) = h.note.as_deref().filter(|n| !n.is_empty()) { " · " (note) } }
                        }
                    }
                }
                aside.summary {
                    h2 { "Summary" }
                    dl {
                        dt { "Subtotal" } dd { (money(&o.subtotal)) }
                        @if let Some(d) = o.discount_total.as_ref().filter(|m| m.amount != 0) { dt { "Discount" } dd { "−" (money(d)) } }
                        @if let Some(s) = &o.shipping_total { dt { "Shipping" } dd { (money(s)) } }
                        @if let Some(t) = &o.tax_total { dt { "Tax" } dd { (money(t)) } }
                        dt.total { "Total" } dd.total { (money(&o.total)) }
                    }
                    h3 { "Customer" }
                    p { (o.email) br;
                        @if let Some(id) = &o.customer_id { a href=(format!("/admin/customers/{id}")) { "Account" } } @else { span.muted { "Guest checkout" } } }
                    h3 { "Ship to" }
                    p { (address_line(&o.shipping_address)) }
                    @if let Some(t) = &o.tracking {
                        h3 { "Tracking" }
                        p { (t.carrier) ": " (t.tracking_number) }
                    }
                    @if let Some(reason) = &o.cancel_reason { h3 { "Cancelled" } p { (reason) } }
                    p.muted { "Placed " (when(&o.created_at)) }
                }
            }
        },
    )
}

/// `GET /admin/orders/{id}/{action}`: what will happen, and the fields it needs.
pub fn confirm(
    chrome: &AdminChrome,
    o: &Order,
    payment: Option<&Payment>,
    action: Action,
    form: &ActionForm,
    problem: Option<&ApiProblem>,
) -> Markup {
    let (title, explain, button, danger) = match action {
        Action::Ship => (
            format!("Ship order {}", o.number),
            "The customer is mailed the carrier and tracking number.",
            "Mark shipped",
            false,
        ),
        Action::Deliver => (
            format!("Mark order {} delivered", o.number),
            "Do this once the carrier confirms delivery; the customer is told.",
            "Mark delivered",
            false,
        ),
        Action::Cancel => (
            format!("Cancel order {}", o.number),
            if o.payment_status == "succeeded" {
                "The order is cancelled, its stock released, and its payment refunded in full. This cannot be undone."
            } else {
                "The order is cancelled and its stock released. This cannot be undone."
            },
            "Cancel order",
            true,
        ),
        Action::Refund => (
            format!("Refund order {}", o.number),
            "The money goes back to the customer's payment method, who is told by mail. A refund cannot be undone.",
            "Refund",
            true,
        ),
    };
    let back = format!("/admin/orders/{}", o.id);
    let fields = html! {
        @match action {
            Action::Ship => {
                (Field::new("carrier", "Carrier").value(&form.carrier).hint("e.g. DHL, UPS").render(problem))
                (Field::new("tracking_number", "Tracking number").value(&form.tracking_number).render(problem))
            }
            Action::Cancel => {
                (Field::new("reason", "Note for the history").value(&form.reason).optional().render(problem))
            }
            Action::Refund => {
                @if let Some(p) = payment {
                    p { "Paid " (money(&p.amount)) "; " (money(&remaining(p))) " can still be refunded." }
                    (Field::new("amount", &format!("Amount ({})", p.amount.currency)).value(&form.amount)
                        .hint("The whole remainder, or less for a partial refund.").render(problem))
                }
                input type="hidden" name="key" value=(form.key);
            }
            Action::Deliver => {}
        }
    };
    page(
        chrome,
        &title,
        html! {
            p { a href=(back) { "← Order " (o.number) } }
            h1 { (title) "?" }
            p { (explain) }
            p { "Total " (money(&o.total)) " · " (o.email) }
            (form_problem(problem))
            (confirm_form(&chrome.csrf, &format!("/admin/orders/{}/{}", o.id, action.slug()), button, danger, fields, &back))
        },
    )
}
