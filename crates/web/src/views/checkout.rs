//! Checkout, payment and order pages.

use maud::{Markup, html};

use super::{Chrome, Field, address_fields, csrf, form_problem, money, page};
use crate::{
    models::{Address, ApiProblem, Cart, Order, Payment, ShippingChoice},
    pages::checkout::CheckoutForm,
};

/// What the checkout form shows.
pub struct CheckoutView<'a> {
    pub cart: &'a Cart,
    pub addresses: &'a [Address],
    pub values: &'a CheckoutForm,
    pub problem: Option<&'a ApiProblem>,
    pub providers: &'a [String],
    /// Logged in: the account's email (no field for it).
    pub account_email: Option<&'a str>,
    /// The destination country, once the form names one.
    pub country: Option<&'a str>,
    /// The shipping options to it, priced for the cart, cheapest first.
    pub options: &'a [ShippingChoice],
}

fn days(option: &ShippingChoice) -> Option<String> {
    match (option.min_days, option.max_days) {
        (Some(a), Some(b)) if a == b => {
            Some(format!("{a} {}", if a == 1 { "day" } else { "days" }))
        }
        (Some(a), Some(b)) => Some(format!("{a}–{b} days")),
        (None, Some(b)) => Some(format!("up to {b} days")),
        (Some(a), None) => Some(format!("from {a} days")),
        (None, None) => None,
    }
}

fn provider_label(provider: &str) -> &str {
    match provider {
        "test" => "Card (test payments)",
        "stripe" => "Card (Stripe)",
        "paypal" => "PayPal",
        other => other,
    }
}

/// `GET /checkout`.
pub fn form(chrome: &Chrome, v: &CheckoutView<'_>) -> Markup {
    let f = v.values;
    let p = v.problem;
    let new_address = v.addresses.is_empty() || f.address_id == "new";
    page(
        chrome,
        "Checkout",
        None,
        html! {
            h1 { "Checkout" }
            div.checkout {
                form.checkout-form action="/checkout" method="post" novalidate {
                    (csrf(&chrome.csrf))
                    input type="hidden" name="key" value=(f.key);
                    (form_problem(p))
                    fieldset {
                        legend { "Contact" }
                        @if let Some(email) = v.account_email {
                            p { "Receipt to " strong { (email) } }
                        } @else {
                            (Field::new("email", "Email").kind("email").value(&f.email).autocomplete("email")
                                .hint("For the receipt and order updates.").render(p))
                            p.muted { "Have an account? " a href="/account/login?next=/checkout" { "Log in" } " to use your address book." }
                        }
                    }
                    fieldset {
                        legend { "Shipping address" }
                        @if !v.addresses.is_empty() {
                            div.choices {
                                @for a in v.addresses {
                                    @let id = a.id.clone().unwrap_or_default();
                                    div.choice {
                                        input id=(format!("addr-{id}")) type="radio" name="address_id" value=(id) checked[f.address_id == id];
                                        label for=(format!("addr-{id}")) { (address_line(a)) }
                                    }
                                }
                                div.choice {
                                    input #addr-new type="radio" name="address_id" value="new" checked[new_address];
                                    label for="addr-new" { "A new address (below)" }
                                }
                            }
                        } @else {
                            input type="hidden" name="address_id" value="new";
                        }
                        div.address-fields {
                            (address_fields(&f.address, "shipping ", p))
                            @if v.account_email.is_some() {
                                div.field.check {
                                    input #f-save type="checkbox" name="save_address" value="1" checked[!f.save_address.is_empty()];
                                    label for="f-save" { "Save this address to my address book" }
                                }
                            }
                        }
                    }
                    fieldset {
                        legend { "Shipping" }
                        @let error = p.and_then(|p| p.field("shipping_option_id"));
                        @if v.options.is_empty() {
                            @if v.country.is_some() {
                                p { "No shipping is charged to this address." }
                            } @else {
                                p.muted { "Enter your address to see the shipping options." }
                            }
                        } @else {
                            div.choices {
                                @for (i, option) in v.options.iter().enumerate() {
                                    @let id = format!("ship-{}", option.id);
                                    div.choice {
                                        input id=(id) type="radio" name="shipping_option_id" value=(option.id)
                                            checked[f.shipping_option_id == option.id || (i == 0 && !v.options.iter().any(|o| o.id == f.shipping_option_id))];
                                        label for=(id) {
                                            (option.name) " — "
                                            @if option.price == 0 { "free" } @else { (crate::money::format(&crate::models::Money { amount: option.price, currency: v.cart.currency.clone() })) }
                                            @if let Some(days) = days(option) { span.muted { " (" (days) ")" } }
                                        }
                                    }
                                }
                            }
                        }
                        @if let Some(message) = error { p.error role="alert" { (message) } }
                    }
                    // Outside the fieldset: its radios are one group.
                    button.secondary type="submit" name="refresh" value="1" formnovalidate { "Show shipping options for this address" }
                    fieldset {
                        legend { "Payment" }
                        @let error = p.and_then(|p| p.field("payment_provider"));
                        div.choices {
                            @for provider in v.providers {
                                div.choice {
                                    input id=(format!("pay-{provider}")) type="radio" name="payment_provider" value=(provider)
                                        checked[f.payment_provider == *provider || v.providers.len() == 1];
                                    label for=(format!("pay-{provider}")) { (provider_label(provider)) }
                                }
                            }
                        }
                        @if let Some(message) = error { p.error role="alert" { (message) } }
                        p.muted { "You pay on the next page; nothing is charged yet." }
                    }
                    button.primary type="submit" { "Place order" }
                }
                (summary(v.cart))
            }
        },
    )
}

fn summary(cart: &Cart) -> Markup {
    html! {
        aside.summary aria-labelledby="order-summary" {
            h2 #order-summary { "Your order" }
            ul.mini-lines {
                @for item in &cart.items {
                    li { span { (item.quantity) " × " (item.product_name) @if !item.variant_title.is_empty() { " (" (item.variant_title) ")" } } span { (money(&item.line_total)) } }
                }
            }
            dl {
                dt { "Subtotal" } dd { (money(&cart.subtotal)) }
                @if let Some(d) = cart.discount_total.as_ref().filter(|d| d.amount > 0) { dt { "Discount" } dd { "−" (money(d)) } }
                dt.total { "Total" } dd.total { (money(&cart.total)) }
            }
            p.muted { "Shipping and tax, if any, are added when the order is placed." }
        }
    }
}

/// One line of an address.
pub fn address_line(a: &Address) -> String {
    let mut parts = vec![a.name.clone(), a.line1.clone()];
    parts.extend(a.line2.clone());
    parts.push(format!("{} {}", a.postal_code, a.city));
    parts.extend(a.region.clone());
    parts.push(a.country.clone());
    parts.join(", ")
}

/// Stripe.js settings for the payment page.
pub struct StripeSetup<'a> {
    pub publishable_key: &'a str,
    pub js_url: &'a str,
}

/// What a decline says to a person.
fn failure_text(code: Option<&str>) -> &'static str {
    match code {
        Some("card_declined") => "Your card was declined.",
        Some("insufficient_funds") => "Your card has insufficient funds.",
        Some("expired_card") => "Your card has expired.",
        _ => "The payment did not go through.",
    }
}

/// `GET /orders/{id}/pay`.
pub fn payment(
    chrome: &Chrome,
    order: &Order,
    payment: Option<&Payment>,
    problem: Option<&ApiProblem>,
    stripe: Option<&StripeSetup<'_>>,
) -> Markup {
    let waiting = payment.is_none() && order.status != "cancelled";
    let head = html! {
        @if waiting { meta http-equiv="refresh" content="1"; }
        @if let (Some(p), Some(s)) = (payment, stripe) {
            @if p.provider == "stripe" && p.status == "pending" { script src=(s.js_url) {} }
        }
    };
    page(
        chrome,
        "Payment",
        Some(head),
        html! {
            h1 { "Pay for order " (order.number) }
            p { "Amount due: " strong { (money(&order.total)) } }
            @match payment {
                None if order.status == "cancelled" => {
                    (cancelled(chrome, order))
                }
                None => {
                    section.notice data-follow=(format!("/orders/{}/status", order.id)) {
                        p role="status" { "Reserving your items and preparing the payment…" }
                        p.muted { "This page refreshes by itself." }
                    }
                }
                Some(p) if p.status == "failed" => {
                    section.notice {
                        p.flash.error role="alert" { (failure_text(p.failure_code.as_deref())) " The order was not paid." }
                        (retry_form(chrome, order))
                    }
                }
                Some(p) if p.status != "pending" => {
                    p { "This payment is " (p.status) ". " a href=(format!("/orders/{}", order.id)) { "See the order" } }
                }
                Some(p) if p.provider == "test" => {
                    form.pay action=(format!("/orders/{}/pay", order.id)) method="post" novalidate {
                        (csrf(&chrome.csrf))
                        input type="hidden" name="payment_id" value=(p.id);
                        (form_problem(problem))
                        (Field::new("card_number", "Card number").value("").autocomplete("cc-number")
                            .hint("Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined; 4000 0000 0000 9995 has insufficient funds.")
                            .render(problem))
                        button.primary type="submit" { "Pay " (money(&p.amount)) }
                    }
                }
                Some(p) if p.provider == "paypal" => {
                    @if let Some(url) = &p.approval_url {
                        p { "You approve the payment at PayPal and come back here." }
                        p { a.button.primary href=(url) { "Continue to PayPal" } }
                    } @else {
                        p role="status" { "Waiting for PayPal…" }
                    }
                }
                Some(p) if p.provider == "stripe" => {
                    @if let (Some(secret), Some(s)) = (&p.client_secret, stripe) {
                        form.pay #stripe-form data-stripe-key=(s.publishable_key) data-client-secret=(secret)
                            data-return=(format!("/orders/{}?placed=1", order.id)) {
                            div.field {
                                label for="stripe-card" { "Card" }
                                div #stripe-card {}
                            }
                            p.error #stripe-error role="alert" {}
                            button.primary type="submit" { "Pay " (money(&p.amount)) }
                        }
                        noscript { p.flash.error { "Card payments by Stripe need JavaScript in this browser." } }
                    } @else {
                        p role="status" { "Card payments are not available just now." }
                    }
                }
                Some(p) => { p { "Pay with " (p.provider) "." } }
            }
        },
    )
}

fn retry_form(chrome: &Chrome, order: &Order) -> Markup {
    html! {
        form action=(format!("/orders/{}/retry", order.id)) method="post" {
            (csrf(&chrome.csrf))
            button.primary type="submit" { "Put the items back in my cart and try again" }
        }
    }
}

fn cancelled(chrome: &Chrome, order: &Order) -> Markup {
    html! {
        section.notice {
            p.flash.error role="alert" { "This order was cancelled: " (cancel_label(order.cancel_reason.as_deref())) "." }
            (retry_form(chrome, order))
        }
    }
}

fn cancel_label(reason: Option<&str>) -> &'static str {
    match reason {
        Some("out_of_stock") => "some items were no longer in stock",
        Some("payment_failed") => "the payment failed",
        Some("payment_timeout") => "it was not paid in time",
        Some("customer_request") => "you asked us to",
        Some("promotion_unavailable") => "a promotion no longer applied",
        Some("admin") => "by the shop",
        _ => "no reason given",
    }
}

/// A status for a person.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "Received, checking stock",
        "awaiting_payment" => "Awaiting payment",
        "paid" => "Paid, being prepared",
        "shipped" => "Shipped",
        "delivered" => "Delivered",
        "cancelled" => "Cancelled",
        _ => "Unknown",
    }
}

/// `GET /orders/{id}`.
pub fn order(chrome: &Chrome, order: &Order, payment: Option<&Payment>, placed: bool) -> Markup {
    let settling = order.is_settling();
    let head = html! { @if settling { meta http-equiv="refresh" content="3"; } };
    let final_state = matches!(order.status.as_str(), "delivered" | "cancelled");
    page(
        chrome,
        &format!("Order {}", order.number),
        Some(head),
        html! {
            @if placed && order.status != "cancelled" {
                section.thanks {
                    h1 { "Thank you for your order" }
                    p { "We sent a confirmation to " strong { (order.email) } "." }
                }
                h2 { "Order " (order.number) }
            } @else {
                h1 { "Order " (order.number) }
            }
            p.status-line data-follow=[(!final_state).then(|| format!("/orders/{}/status", order.id))] {
                "Status: " strong.status data-status=(order.status) { (status_label(&order.status)) }
            }
            @if order.status == "awaiting_payment" && payment.is_some_and(|p| p.status == "pending") {
                p { a.button.primary href=(format!("/orders/{}/pay", order.id)) { "Pay now" } }
            }
            @if order.status == "cancelled" { (cancelled(chrome, order)) }
            @if let Some(t) = &order.tracking {
                p { "Shipped with " (t.carrier) ", tracking number " strong { (t.tracking_number) } "." }
            }
            div.order {
                table.lines {
                    caption.visually-hidden { "Items" }
                    thead { tr { th scope="col" { "Product" } th scope="col" { "Quantity" } th scope="col" { "Price" } th scope="col" { "Total" } } }
                    tbody {
                        @for item in &order.items {
                            tr {
                                td data-label="Product" { (item.product_name) br; span.muted { (item.sku) } }
                                td data-label="Quantity" { (item.quantity) }
                                td data-label="Price" { (money(&item.unit_price)) }
                                td data-label="Total" { (money(&item.line_total)) }
                            }
                        }
                    }
                }
                aside.summary aria-label="Totals" {
                    dl {
                        dt { "Subtotal" } dd { (money(&order.subtotal)) }
                        @if let Some(d) = order.discount_total.as_ref().filter(|d| d.amount > 0) { dt { "Discount" } dd { "−" (money(d)) } }
                        @if let Some(s) = &order.shipping_total {
                            dt { "Shipping" @if let Some(o) = &order.shipping_option { " (" (o.name) ")" } } dd { (money(s)) }
                        }
                        @if let Some(t) = order.tax_total.as_ref().filter(|t| t.amount > 0) { dt { "Tax" } dd { (money(t)) } }
                        dt.total { "Total" } dd.total { (money(&order.total)) }
                    }
                    h2 { "Shipping to" }
                    p { (address_line(&order.shipping_address)) }
                }
            }
            h2 { "History" }
            ol.history {
                @for h in &order.history {
                    li { time datetime=(h.at) { (h.at.get(..16).unwrap_or(&h.at).replace('T', " ")) } " — " (status_label(&h.status)) @if let Some(n) = &h.note { " (" (n) ")" } }
                }
            }
        },
    )
}
