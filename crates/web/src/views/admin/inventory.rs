//! Stock levels and the ledger.

use maud::{Markup, html};

use super::{AdminChrome, page, when};
use crate::{
    models::{ApiProblem, Inventory, Stock},
    pages::{admin::inventory::AdjustForm, encode},
    views::{Field, form_problem, next_page},
};

/// A table of SKUs and their levels.
pub fn stock_table(items: &[Stock], caption: &str) -> Markup {
    html! {
        table.lines {
            caption.visually-hidden { (caption) }
            thead { tr { th scope="col" { "SKU" } th scope="col" { "Product" } th scope="col" { "On hand" } th scope="col" { "Reserved" } th scope="col" { "Available" } } }
            tbody {
                @for s in items {
                    tr {
                        td data-label="SKU" { a href=(format!("/admin/inventory/{}", encode(&s.sku))) { (s.sku) } }
                        td data-label="Product" { a href=(format!("/admin/products/{}", s.product_id)) { (s.product_name) } " · " (s.variant_title) }
                        td data-label="On hand" { (s.on_hand) }
                        td data-label="Reserved" { (s.reserved) }
                        td data-label="Available" {
                            @if s.available < crate::pages::admin::LOW_STOCK { span.tag { (s.available) } } @else { (s.available) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /admin/inventory`.
pub fn levels(chrome: &AdminChrome, items: &[Stock], low: bool, next: Option<String>) -> Markup {
    page(
        chrome,
        "Inventory",
        html! {
            h1 { "Inventory" }
            nav.tabs aria-label="Which SKUs" {
                a href="/admin/inventory" aria-current=[(!low).then_some("page")] { "All SKUs" }
                a href="/admin/inventory?low=1" aria-current=[low.then_some("page")] { "Low stock (under " (crate::pages::admin::LOW_STOCK) ")" }
            }
            @if items.is_empty() {
                p.empty { @if low { "No SKU is low on stock." } @else { "No SKUs yet." } }
            } @else {
                (stock_table(items, "Stock per SKU"))
                (next_page(next, "Next page"))
            }
        },
    )
}

/// `GET /admin/inventory/{sku}`.
pub fn sku(
    chrome: &AdminChrome,
    inv: &Inventory,
    form: &AdjustForm,
    problem: Option<&ApiProblem>,
) -> Markup {
    page(
        chrome,
        &format!("Stock of {}", inv.sku),
        html! {
            p { a href="/admin/inventory" { "← Inventory" } }
            h1 { "Stock of " (inv.sku) }
            dl.facts.levels {
                dt { "On hand" } dd { (inv.on_hand) }
                dt { "Reserved for unpaid orders" } dd { (inv.reserved) }
                dt { "Available" } dd { (inv.available) }
            }
            section aria-labelledby="adjust" {
                h2 #adjust { "Adjust stock" }
                (form_problem(problem))
                form.admin-form.narrow method="post" action=(format!("/admin/inventory/{}/adjustments", encode(&inv.sku))) {
                    (super::csrf(&chrome.csrf))
                    (Field::new("delta", "Change in units").value(&form.delta).hint("10 adds ten units (a delivery); -3 removes three (damage, a count).").render(problem))
                    (Field::new("reason", "Reason").value(&form.reason).hint("Kept in the ledger, e.g. “Delivery from supplier”.").render(problem))
                    button.primary type="submit" { "Adjust stock" }
                }
            }
            section aria-labelledby="ledger" {
                h2 #ledger { "Ledger" }
                @if inv.recent_adjustments.is_empty() {
                    p { "No adjustments yet." }
                } @else {
                    table.lines {
                        caption.visually-hidden { "Latest stock changes, newest first" }
                        thead { tr { th scope="col" { "When" } th scope="col" { "Change" } th scope="col" { "Reason" } th scope="col" { "By" } } }
                        tbody {
                            @for a in &inv.recent_adjustments {
                                tr {
                                    td data-label="When" { (when(&a.at)) }
                                    td data-label="Change" { (format!("{:+}", a.delta)) }
                                    td data-label="Reason" { (a.reason) }
                                    td data-label="By" {
                                        @if let Some(order) = a.actor.strip_prefix("order:") {
                                            a href=(format!("/admin/orders/{order}")) { "an order" }
                                        } @else {
                                            a href=(format!("/admin/customers/{}", a.actor)) { "an admin" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    p.muted { "The latest 50 changes." }
                }
            }
        },
    )
}
