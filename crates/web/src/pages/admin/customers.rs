//! Customer accounts (search, orders, disable, role) and the notification
//! delivery log.

use axum::{
    extract::{Path, Query},
    http::Method,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::{Admin, form_problem, problem_status};
use crate::{
    api::ApiError,
    models::{Notification, Order, Page, User},
    pages::{CsrfForm, encode, query},
    views::admin::people::{self as view, AccessChange, DeliveryFilters},
};

#[derive(Debug, Default, Deserialize)]
pub struct CustomerFilters {
    #[serde(default)]
    email: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /admin/customers`: newest first, by part of the email.
pub async fn list(admin: Admin, Query(f): Query<CustomerFilters>) -> Response {
    let path = format!(
        "/api/v1/users?{}",
        query(&[
            ("email", f.email.trim()),
            ("limit", "25"),
            ("cursor", &f.cursor)
        ])
    );
    match admin.api().get::<Page<User>>(&admin.caller, &path).await {
        Ok(page) => {
            let next = page.next_cursor.as_deref().map(|c| {
                format!(
                    "/admin/customers?{}",
                    query(&[("email", &f.email), ("cursor", c)])
                )
            });
            view::customers(&admin.chrome("customers"), &page.items, &f.email, next).into_response()
        }
        Err(e) => admin.failure(&e, "customers"),
    }
}

async fn account(admin: &Admin, id: &str) -> Result<(User, Page<Order>), ApiError> {
    let user_path = format!("/api/v1/users/{}", encode(id));
    let orders_path = format!(
        "/api/v1/orders?{}",
        query(&[("customer_id", id), ("limit", "20")])
    );
    let (user, orders) = tokio::join!(
        admin.api().get::<User>(&admin.caller, &user_path),
        admin.api().get::<Page<Order>>(&admin.caller, &orders_path),
    );
    Ok((user?, orders?))
}

/// `GET /admin/customers/{id}`: the account and its orders.
pub async fn show(admin: Admin, Path(id): Path<String>) -> Response {
    match account(&admin, &id).await {
        Ok((user, orders)) => {
            let more = orders
                .next_cursor
                .is_some()
                .then(|| format!("/admin/orders?{}", query(&[("customer", &user.id)])));
            view::customer(&admin.chrome("customers"), &user, &orders.items, more, None)
                .into_response()
        }
        Err(e) => admin.failure(&e, "customers"),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AccessForm {
    #[serde(default)]
    change: String,
}

/// `GET /admin/customers/{id}/access?change=...`: asks first.
pub async fn access_confirm(
    admin: Admin,
    Path(id): Path<String>,
    Query(form): Query<AccessForm>,
) -> Response {
    let Some(change) = AccessChange::parse(&form.change) else {
        return admin.not_found("customers");
    };
    match admin
        .api()
        .get::<User>(&admin.caller, &format!("/api/v1/users/{}", encode(&id)))
        .await
    {
        Ok(user) => view::access_confirm(&admin.chrome("customers"), &user, change).into_response(),
        Err(e) => admin.failure(&e, "customers"),
    }
}

/// `POST /admin/customers/{id}/access`: disable, enable or change the
/// role; the API's refusals (an admin locking themselves out) are shown on
/// the account's page.
pub async fn access(
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<AccessForm>,
) -> Response {
    let Some(change) = AccessChange::parse(&form.change) else {
        return admin.not_found("customers");
    };
    let body = match change {
        AccessChange::Disable => json!({"disabled": true}),
        AccessChange::Enable => json!({"disabled": false}),
        AccessChange::MakeAdmin => json!({"role": "admin"}),
        AccessChange::MakeCustomer => json!({"role": "customer"}),
    };
    match admin
        .api()
        .send::<User>(
            &admin.caller,
            Method::PATCH,
            &format!("/api/v1/users/{}", encode(&id)),
            &body,
        )
        .await
    {
        Ok(user) => {
            admin.flash(true, change.done(&user.email));
            Redirect::to(&format!("/admin/customers/{}", user.id)).into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => match account(&admin, &id).await {
                Ok((user, orders)) => (
                    problem_status(&problem),
                    view::customer(
                        &admin.chrome("customers"),
                        &user,
                        &orders.items,
                        None,
                        Some(&problem),
                    ),
                )
                    .into_response(),
                Err(e) => admin.failure(&e, "customers"),
            },
            Err(e) => admin.failure(&e, "customers"),
        },
    }
}

/// `GET /admin/notifications`: the delivery log, filtered.
pub async fn notifications(admin: Admin, Query(f): Query<DeliveryFilters>) -> Response {
    let path = format!(
        "/api/v1/notifications?{}",
        query(&[
            ("status", &f.status),
            ("channel", &f.channel),
            ("template", f.template.trim()),
            ("to", f.to.trim()),
            ("limit", "50"),
            ("cursor", &f.cursor),
        ])
    );
    match admin
        .api()
        .get::<Page<Notification>>(&admin.caller, &path)
        .await
    {
        Ok(page) => {
            let next = page.next_cursor.as_deref().map(|c| {
                format!(
                    "/admin/notifications?{}",
                    query(&[
                        ("status", &f.status),
                        ("channel", &f.channel),
                        ("template", &f.template),
                        ("to", &f.to),
                        ("cursor", c),
                    ])
                )
            });
            view::notifications(&admin.chrome("notifications"), &page.items, &f, next, None)
                .into_response()
        }
        Err(e) => match form_problem(e) {
            Ok(problem) => (
                problem_status(&problem),
                view::notifications(
                    &admin.chrome("notifications"),
                    &[],
                    &f,
                    None,
                    Some(&problem),
                ),
            )
                .into_response(),
            Err(e) => admin.failure(&e, "notifications"),
        },
    }
}
