//! Orders: the filtered list, one order with its payments, and the
//! actions on it (ship, deliver, cancel, refund), each confirmed on a page
//! of its own before it is sent.

use axum::{
    extract::{Path, Query},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;

use super::{Admin, form_problem, problem_status, submission_key};
use crate::{
    api::ApiError,
    models::{ApiProblem, FieldProblem, Items, Order, Page, Payment, User},
    money,
    pages::{CsrfForm, encode, query},
    views::admin::orders::{self as view, Action, ActionForm, OrderFilters},
};

/// `GET /admin/orders`.
pub async fn list(admin: Admin, Query(f): Query<OrderFilters>) -> Response {
    let mut problem = ApiProblem::bare(422);
    let customer_id = match f.customer.trim() {
        "" => Some(String::new()),
        c if c.contains('@') => match customer_by_email(&admin, c).await {
            Ok(Some(user)) => Some(user.id),
            Ok(None) => {
                problem.errors.push(FieldProblem {
                    field: "customer".into(),
                    message: format!("No customer account has the email {c}."),
                });
                None
            }
            Err(e) => return admin.failure(&e, "orders"),
        },
        c => Some(c.to_owned()),
    };
    let from = day_start(&f.from, 0, "from", &mut problem);
    let to = day_start(&f.to, 1, "to", &mut problem);
    let (Some(customer_id), Some(from), Some(to), true) =
        (customer_id, from, to, problem.errors.is_empty())
    else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            view::list(&admin.chrome("orders"), &[], &f, None, Some(&problem)),
        )
            .into_response();
    };
    let path = format!(
        "/api/v1/orders?{}",
        query(&[
            ("status", &f.status),
            ("customer_id", &customer_id),
            ("created_from", &from),
            ("created_to", &to),
            ("limit", "25"),
            ("cursor", &f.cursor),
        ])
    );
    match admin.api().get::<Page<Order>>(&admin.caller, &path).await {
        Ok(page) => {
            let next = page.next_cursor.as_deref().map(|c| {
                format!(
                    "/admin/orders?{}",
                    query(&[
                        ("status", &f.status),
                        ("customer", &f.customer),
                        ("from", &f.from),
                        ("to", &f.to),
                        ("cursor", c),
                    ])
                )
            });
            view::list(&admin.chrome("orders"), &page.items, &f, next, None).into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => (
                problem_status(&problem),
                view::list(&admin.chrome("orders"), &[], &f, None, Some(&problem)),
            )
                .into_response(),
            Err(e) => admin.failure(&e, "orders"),
        },
    }
}

/// The account with exactly this email, if any.
async fn customer_by_email(admin: &Admin, email: &str) -> Result<Option<User>, ApiError> {
    let path = format!(
        "/api/v1/users?{}",
        query(&[("email", email), ("limit", "100")])
    );
    let page: Page<User> = admin.api().get(&admin.caller, &path).await?;
    Ok(page
        .items
        .into_iter()
        .find(|u| u.email.eq_ignore_ascii_case(email.trim())))
}

/// `YYYY-MM-DD` plus `days` as the RFC 3339 start of that day (UTC); `""`
/// for an empty field, `None` (and a problem) for anything else.
fn day_start(raw: &str, days: i64, field: &str, problem: &mut ApiProblem) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Some(String::new());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(raw, &format) {
        Ok(date) => Some(format!(
            "{}T00:00:00Z",
            (date + time::Duration::days(days))
                .format(&format)
                .unwrap_or_default()
        )),
        Err(_) => {
            problem.errors.push(FieldProblem {
                field: field.into(),
                message: "Enter a date as YYYY-MM-DD.".into(),
            });
            None
        }
    }
}

async fn order(admin: &Admin, id: &str) -> Result<Order, ApiError> {
    admin
        .api()
        .get(&admin.caller, &format!("/api/v1/orders/{}", encode(id)))
        .await
}

async fn payments(admin: &Admin, order_id: &str) -> Result<Vec<Payment>, ApiError> {
    admin
        .api()
        .get::<Items<Payment>>(
            &admin.caller,
            &format!("/api/v1/payments?order_id={}", encode(order_id)),
        )
        .await
        .map(|p| p.items)
}

/// The order and its payments, read together; a failure is its page.
async fn order_and_payments(admin: &Admin, id: &str) -> Result<(Order, Vec<Payment>), Response> {
    match tokio::join!(order(admin, id), payments(admin, id)) {
        (Ok(order), Ok(payments)) => Ok((order, payments)),
        (Err(e), _) | (_, Err(e)) => Err(admin.failure(&e, "orders")),
    }
}

/// `GET /admin/orders/{id}`.
pub async fn show(admin: Admin, Path(id): Path<String>) -> Response {
    match order_and_payments(&admin, &id).await {
        Ok((order, payments)) => {
            view::show(&admin.chrome("orders"), &order, &payments).into_response()
        }
        Err(page) => page,
    }
}

/// The payment a refund goes to: the one that took the money.
fn refundable(payments: &[Payment]) -> Option<&Payment> {
    payments
        .iter()
        .find(|p| matches!(p.status.as_str(), "succeeded" | "partially_refunded"))
}

/// What remains to refund of a payment.
pub fn remaining(payment: &Payment) -> crate::models::Money {
    let refunded = payment.refunded_amount.as_ref().map_or(0, |m| m.amount);
    crate::models::Money {
        amount: (payment.amount.amount - refunded).max(0),
        currency: payment.amount.currency.clone(),
    }
}

/// `GET /admin/orders/{id}/{action}`: the confirmation page.
pub async fn confirm(admin: Admin, Path((id, action)): Path<(String, String)>) -> Response {
    let Some(action) = Action::parse(&action) else {
        return admin.not_found("orders");
    };
    let (order, payments) = match order_and_payments(&admin, &id).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let payment = refundable(&payments);
    let form = ActionForm {
        amount: payment
            .map(|p| money::format_plain(&remaining(p)))
            .unwrap_or_default(),
        key: submission_key(),
        ..ActionForm::default()
    };
    view::confirm(
        &admin.chrome("orders"),
        &order,
        payment,
        action,
        &form,
        None,
    )
    .into_response()
}

/// `POST /admin/orders/{id}/{action}`.
pub async fn act(
    admin: Admin,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Response {
    let Some(action) = Action::parse(&action) else {
        return admin.not_found("orders");
    };
    let (order, payments) = match order_and_payments(&admin, &id).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let payment = refundable(&payments);
    let result = match action {
        Action::Ship => admin
            .api()
            .send::<Order>(
                &admin.caller,
                Method::POST,
                &format!("/api/v1/orders/{}/ship", order.id),
                &json!({"carrier": form.carrier.trim(), "tracking_number": form.tracking_number.trim()}),
            )
            .await
            .map(|o| format!("Order {} is shipped.", o.number)),
        Action::Deliver => admin
            .api()
            .send::<Order>(
                &admin.caller,
                Method::POST,
                &format!("/api/v1/orders/{}/deliver", order.id),
                &json!({}),
            )
            .await
            .map(|o| format!("Order {} is delivered.", o.number)),
        Action::Cancel => {
            let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
            admin
                .api()
                .send::<Order>(
                    &admin.caller,
                    Method::POST,
                    &format!("/api/v1/orders/{}/cancel", order.id),
                    &json!({"reason": reason}),
                )
                .await
                .map(|o| {
                    if order.payment_status == "succeeded" {
                        format!("Order {} is cancelled; its payment is being refunded.", o.number)
                    } else {
                        format!("Order {} is cancelled.", o.number)
                    }
                })
        }
        Action::Refund => {
            let Some(payment) = payment else {
                let mut problem = ApiProblem::bare(409);
                problem.detail = Some("This order has no payment with money left to refund.".into());
                return shown(&admin, &order, None, action, &form, problem);
            };
            let currency = payment.amount.currency.clone();
            let Some(amount) = money::parse_major(&form.amount, &currency).filter(|a| *a > 0)
            else {
                let mut problem = ApiProblem::bare(422);
                problem.errors.push(FieldProblem {
                    field: "amount".into(),
                    message: format!("Enter an amount in {currency}, like 12.50."),
                });
                return shown(&admin, &order, Some(payment), action, &form, problem);
            };
            if form.key.is_empty() {
                let mut problem = ApiProblem::bare(400);
                problem.detail = Some("This form has expired. Please open it again.".into());
                return shown(&admin, &order, Some(payment), action, &form, problem);
            }
            admin
                .api()
                .send_idempotent::<serde_json::Value>(
                    &admin.caller,
                    &format!("/api/v1/payments/{}/refunds", payment.id),
                    &json!({"amount": amount}),
                    // One key per opened form: a second click (or a
                    // resubmitted page) replays the first refund.
                    &form.key,
                )
                .await
                .map(|_| {
                    format!(
                        "Refunded {} of order {}.",
                        money::format(&crate::models::Money { amount, currency }),
                        order.number
                    )
                })
        }
    };
    match result {
        Ok(message) => {
            admin.flash(true, message);
            Redirect::to(&format!("/admin/orders/{}", order.id)).into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) if problem.status == 409 && action != Action::Refund => {
                // Often a second click: say what the order is now.
                match self::order(&admin, &id).await {
                    Ok(now) if Some(now.status.as_str()) == action.reached() => {
                        admin.flash(
                            true,
                            format!("Order {} is already {}.", now.number, now.status),
                        );
                        Redirect::to(&format!("/admin/orders/{}", now.id)).into_response()
                    }
                    _ => shown(&admin, &order, payment, action, &form, problem),
                }
            }
            Ok(problem) => shown(&admin, &order, payment, action, &form, problem),
            Err(e) => admin.failure(&e, "orders"),
        },
    }
}

fn shown(
    admin: &Admin,
    order: &Order,
    payment: Option<&Payment>,
    action: Action,
    form: &ActionForm,
    problem: ApiProblem,
) -> Response {
    (
        problem_status(&problem),
        view::confirm(
            &admin.chrome("orders"),
            order,
            payment,
            action,
            form,
            Some(&problem),
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_the_start_of_their_day() {
        let mut problem = ApiProblem::bare(422);
        assert_eq!(
            day_start("2026-12-03", 0, "from", &mut problem).as_deref(),
            Some("2026-12-03T00:00:00Z")
        );
        assert_eq!(
            day_start("2026-12-31", 1, "to", &mut problem).as_deref(),
            Some("2027-01-01T00:00:00Z"),
            "`to` includes its whole day"
        );
        assert_eq!(day_start(" ", 0, "from", &mut problem).as_deref(), Some(""));
        assert!(problem.errors.is_empty());
        assert_eq!(day_start("3.12.2026", 0, "from", &mut problem), None);
        assert_eq!(problem.field("from"), Some("Enter a date as YYYY-MM-DD."));
    }
}
