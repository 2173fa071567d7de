//! The cart page.

use maud::{Markup, html};

use super::{Chrome, csrf, money, page};
use crate::models::Cart;

/// `GET /cart`.
pub fn cart(chrome: &Chrome, cart: Option<&Cart>) -> Markup {
    let lines = cart.map_or(&[][..], |c| c.items.as_slice());
    page(
        chrome,
        "Your cart",
        None,
        html! {
            h1 { "Your cart" }
            @if lines.is_empty() {
                section.notice {
                    p { "Your cart is empty." }
                    p { a.button href="/" { "Continue shopping" } }
                }
            } @else if let Some(cart) = cart {
                div.cart {
                    table.lines {
                        caption.visually-hidden { "Items in your cart" }
                        thead { tr { th scope="col" { "Product" } th scope="col" { "Price" } th scope="col" { "Quantity" } th scope="col" { "Total" } th scope="col" { span.visually-hidden { "Actions" } } } }
                        tbody {
                            @for item in lines {
                                @let qty_id = format!("qty-{}", item.id);
                                tr {
                                    td data-label="Product" {
                                        strong { (item.product_name) }
                                        @if !item.variant_title.is_empty() { br; span.muted { (item.variant_title) } }
                                    }
                                    td data-label="Price" { (money(&item.unit_price)) }
                                    td data-label="Quantity" {
                                        form.qty action=(format!("/cart/items/{}", item.id)) method="post" {
                                            (csrf(&chrome.csrf))
                                            label.visually-hidden for=(qty_id) { "Quantity of " (item.product_name) " " (item.variant_title) }
                                            input id=(qty_id) type="number" name="quantity" value=(item.quantity) min="0" max="99" inputmode="numeric";
                                            button type="submit" { "Update" }
                                        }
                                    }
                                    td data-label="Total" { (money(&item.line_total)) }
                                    td {
                                        form action=(format!("/cart/items/{}/remove", item.id)) method="post" {
                                            (csrf(&chrome.csrf))
                                            button.link type="submit" aria-label=(format!("Remove {} {}", item.product_name, item.variant_title)) { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    aside.summary aria-labelledby="summary-title" {
                        h2 #summary-title { "Summary" }
                        dl {
                            dt { "Items" } dd { (cart.item_count) }
                            dt { "Subtotal" } dd { (money(&cart.subtotal)) }
                            @for promo in &cart.promotions {
                                dt { "Discount" @if let Some(code) = &promo.code { " (" (code) ")" } }
                                dd { "−" (money(&promo.discount)) }
                            }
                            dt.total { "Total" } dd.total data-cart-total { (money(&cart.total)) }
                        }
                        @let applied = cart.promotions.iter().any(|p| p.code.is_some() && p.code == cart.promotion_code);
                        @if let Some(code) = &cart.promotion_code {
                            @if !applied {
                                p.error role="alert" { "The code " (code) " does not apply to this cart now; remove it to check out without it." }
                            }
                            form.inline action="/cart/promotions/remove" method="post" {
                                (csrf(&chrome.csrf))
                                input type="hidden" name="code" value=(code);
                                button.link type="submit" aria-label=(format!("Remove the code {code}")) { "Remove code " (code) }
                            }
                        } @else {
                            form.promo action="/cart/promotions" method="post" {
                                (csrf(&chrome.csrf))
                                label for="promo-code" { "Promotion code" }
                                input #promo-code type="text" name="code" maxlength="50" autocomplete="off" autocapitalize="characters" spellcheck="false";
                                button type="submit" { "Apply" }
                            }
                        }
                        p.muted { "Shipping and tax are added at checkout." }
                        a.button.primary href="/checkout" { "Check out" }
                    }
                }
            }
        },
    )
}
