//! Account pages.

use maud::{Markup, html};

use super::{Chrome, Field, address_fields, csrf, form_problem, money, page, pagination};
use crate::{
    models::{Address, ApiProblem, Order, Preferences, User},
    pages::{AddressForm, account::RegisterForm},
    views::checkout::{address_line, status_label},
};

fn account_nav(current: &str) -> Markup {
    let links = [
        ("/account", "Profile"),
        ("/account/orders", "Orders"),
        ("/account/addresses", "Address book"),
        ("/account/preferences", "Notifications"),
    ];
    html! {
        nav.account-nav aria-label="Your account" {
            ul {
                @for (href, label) in links {
                    li { a href=(href) aria-current=[(href == current).then_some("page")] { (label) } }
                }
            }
        }
    }
}

/// `GET /account/login`.
pub fn login(chrome: &Chrome, email: &str, next: &str, problem: Option<&ApiProblem>) -> Markup {
    page(
        chrome,
        "Log in",
        None,
        html! {
            section.narrow {
                h1 { "Log in" }
                form action="/account/login" method="post" novalidate {
                    (csrf(&chrome.csrf))
                    input type="hidden" name="next" value=(next);
                    (form_problem(problem))
                    (Field::new("email", "Email").kind("email").value(email).autocomplete("email").render(problem))
                    (Field::new("password", "Password").kind("password").autocomplete("current-password").render(problem))
                    button.primary type="submit" { "Log in" }
                }
                p { a href="/account/password-reset" { "Forgot your password?" } }
                p { "New here? " a href=(format!("/account/register?next={}", crate::pages::encode(next))) { "Create an account" } }
            }
        },
    )
}

/// `GET /account/register`.
pub fn register(
    chrome: &Chrome,
    form: &RegisterForm,
    next: &str,
    problem: Option<&ApiProblem>,
) -> Markup {
    page(
        chrome,
        "Create an account",
        None,
        html! {
            section.narrow {
                h1 { "Create an account" }
                form action="/account/register" method="post" novalidate {
                    (csrf(&chrome.csrf))
                    input type="hidden" name="next" value=(next);
                    (form_problem(problem))
                    (Field::new("name", "Name").value(&form.name).autocomplete("name").render(problem))
                    (Field::new("email", "Email").kind("email").value(&form.email).autocomplete("email").render(problem))
                    (Field::new("password", "Password").kind("password").autocomplete("new-password")
                        .hint("8 to 128 characters; not a common password.").render(problem))
                    button.primary type="submit" { "Create account" }
                }
                p { "Have an account? " a href="/account/login" { "Log in" } }
            }
        },
    )
}

/// `GET /account/password-reset`.
pub fn reset_request(chrome: &Chrome, problem: Option<&ApiProblem>) -> Markup {
    page(
        chrome,
        "Reset your password",
        None,
        html! {
            section.narrow {
                h1 { "Reset your password" }
                p { "We mail you a link to choose a new password." }
                form action="/account/password-reset" method="post" novalidate {
                    (csrf(&chrome.csrf))
                    (form_problem(problem))
                    (Field::new("email", "Email").kind("email").autocomplete("email").render(problem))
                    button.primary type="submit" { "Send the link" }
                }
            }
        },
    )
}

/// `GET /reset-password?token=`.
pub fn reset(chrome: &Chrome, token: &str, problem: Option<&ApiProblem>) -> Markup {
    page(
        chrome,
        "Choose a new password",
        None,
        html! {
            section.narrow {
                h1 { "Choose a new password" }
                form action="/reset-password" method="post" novalidate {
                    (csrf(&chrome.csrf))
                    input type="hidden" name="token" value=(token);
                    (form_problem(problem))
                    (Field::new("new_password", "New password").kind("password").autocomplete("new-password")
                        .hint("8 to 128 characters; not a common password.").render(problem))
                    button.primary type="submit" { "Save the password" }
                }
            }
        },
    )
}

/// `GET /verify-email?token=`.
pub fn verify(chrome: &Chrome, token: &str, problem: Option<&ApiProblem>) -> Markup {
    page(
        chrome,
        "Verify your email",
        None,
        html! {
            section.narrow {
                h1 { "Verify your email address" }
                form action="/verify-email" method="post" {
                    (csrf(&chrome.csrf))
                    input type="hidden" name="token" value=(token);
                    (form_problem(problem))
                    button.primary type="submit" { "Confirm my email address" }
                }
            }
        },
    )
}

/// `GET /account`.
pub fn profile(chrome: &Chrome, user: &User, problem: Option<&ApiProblem>) -> Markup {
    page(
        chrome,
        "Your account",
        None,
        html! {
            h1 { "Your account" }
            div.account {
                (account_nav("/account"))
                section {
                    h2 { "Profile" }
                    p { "Email: " strong { (user.email) } " "
                        @if user.email_verified { span.tag.ok { "verified" } } @else { span.tag { "not verified" } } }
                    @if !user.email_verified {
                        form action="/account/verification" method="post" {
                            (csrf(&chrome.csrf))
                            button type="submit" { "Mail me a new verification link" }
                        }
                    }
                    form action="/account" method="post" novalidate {
                        (csrf(&chrome.csrf))
                        (form_problem(problem))
                        (Field::new("name", "Name").value(&user.name).autocomplete("name").render(problem))
                        (Field::new("phone", "Phone").kind("tel").value(user.phone.as_deref().unwrap_or("")).optional()
                            .autocomplete("tel").hint("For text messages about your orders, if you turn them on.").render(problem))
                        button.primary type="submit" { "Save" }
                    }
                }
            }
        },
    )
}

/// `GET /account/addresses`.
pub fn addresses(
    chrome: &Chrome,
    list: &[Address],
    form: &AddressForm,
    problem: Option<&ApiProblem>,
) -> Markup {
    page(
        chrome,
        "Address book",
        None,
        html! {
            h1 { "Address book" }
            div.account {
                (account_nav("/account/addresses"))
                section {
                    @if list.is_empty() {
                        p { "No saved addresses yet." }
                    } @else {
                        ul.addresses {
                            @for a in list {
                                li {
                                    span { (address_line(a)) }
                                    @if let Some(id) = &a.id {
                                        form action=(format!("/account/addresses/{id}/delete")) method="post" {
                                            (csrf(&chrome.csrf))
                                            button.link type="submit" aria-label=(format!("Remove the address of {}, {}", a.name, a.line1)) { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Add an address" }
                    form action="/account/addresses" method="post" novalidate {
                        (csrf(&chrome.csrf))
                        (form_problem(problem))
                        (address_fields(form, "", problem))
                        button.primary type="submit" { "Save the address" }
                    }
                }
            }
        },
    )
}

/// `GET /account/orders`.
pub fn orders(chrome: &Chrome, orders: &[Order], next: Option<String>) -> Markup {
    page(
        chrome,
        "Your orders",
        None,
        html! {
            h1 { "Your orders" }
            div.account {
                (account_nav("/account/orders"))
                section {
                    @if orders.is_empty() {
                        p { "No orders yet. " a href="/" { "Start shopping" } }
                    } @else {
                        table.lines {
                            caption.visually-hidden { "Your orders, newest first" }
                            thead { tr { th scope="col" { "Order" } th scope="col" { "Placed" } th scope="col" { "Status" } th scope="col" { "Total" } } }
                            tbody {
                                @for o in orders {
                                    tr {
                                        td data-label="Order" { a href=(format!("/orders/{}", o.id)) { (o.number) } }
                                        td data-label="Placed" { time datetime=(o.created_at) { (o.created_at.get(..10).unwrap_or(&o.created_at)) } }
                                        td data-label="Status" { (status_label(&o.status)) }
                                        td data-label="Total" { (money(&o.total)) }
                                    }
                                }
                            }
                        }
                        (pagination(next))
                    }
                }
            }
        },
    )
}

/// `GET /account/preferences`.
pub fn preferences(chrome: &Chrome, prefs: Preferences) -> Markup {
    page(
        chrome,
        "Notifications",
        None,
        html! {
            h1 { "Notifications" }
            div.account {
                (account_nav("/account/preferences"))
                section {
                    form action="/account/preferences" method="post" {
                        (csrf(&chrome.csrf))
                        fieldset {
                            legend { "Tell me about my orders by" }
                            div.field.check {
                                input #f-email type="checkbox" name="email" value="on" checked[prefs.email];
                                label for="f-email" { "Email" }
                            }
                            div.field.check {
                                input #f-sms type="checkbox" name="sms" value="on" checked[prefs.sms];
                                label for="f-sms" { "Text message (needs a phone number in your profile)" }
                            }
                        }
                        button.primary type="submit" { "Save" }
                    }
                }
            }
        },
    )
}
