//! The cart: the guest's (its id in the session) or the customer's.

use axum::{
    extract::Path,
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{CsrfForm, Visit, done, safe_next};
use crate::{
    api::{ApiError, Caller},
    models::Cart,
    views,
};

/// The visitor's cart: the customer's active one, or the guest cart the
/// session names (None when there is none yet, or it is gone).
pub async fn current(visit: &Visit, caller: &Caller) -> Result<Option<Cart>, ApiError> {
    if caller.token.is_some() {
        return visit
            .state
            .api
            .get::<Cart>(caller, "/api/v1/carts/mine")
            .await
            .map(Some);
    }
    let Some(id) = visit.session.read(|d| d.cart.clone()) else {
        return Ok(None);
    };
    match visit
        .state
        .api
        .get::<Cart>(caller, &format!("/api/v1/carts/{id}"))
        .await
    {
        Ok(cart) => Ok(Some(cart)),
        Err(e) if e.is_not_found() => {
            // Expired or claimed elsewhere.
            visit.session.update(|d| {
                d.cart = None;
                d.cart_count = 0;
            });
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The visitor's cart, opened if they have none.
pub async fn current_or_new(visit: &Visit, caller: &Caller) -> Result<Cart, ApiError> {
    if let Some(cart) = current(visit, caller).await? {
        return Ok(cart);
    }
    let cart: Cart = visit
        .state
        .api
        .send(
            caller,
            Method::POST,
            "/api/v1/carts",
            &serde_json::json!({}),
        )
        .await?;
    visit.session.update(|d| d.cart = Some(cart.id.clone()));
    Ok(cart)
}

/// `GET /cart`.
pub async fn show(visit: Visit) -> Response {
    let caller = visit.caller().await;
    let cart = match current(&visit, &caller).await {
        Ok(cart) => cart,
        Err(e) => return visit.failure(&e, "/cart").await,
    };
    if let Some(cart) = &cart {
        visit.remember_cart_count(cart.item_count);
    }
    let chrome = visit.chrome().await;
    views::cart::cart(&chrome, cart.as_ref()).into_response()
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    variant_id: String,
    #[serde(default)]
    quantity: String,
    back: Option<String>,
}

/// `POST /cart/items`: adds a variant (JSON for the script: the new count).
pub async fn add(visit: Visit, CsrfForm(form): CsrfForm<AddForm>) -> Response {
    let back = safe_next(form.back.as_deref(), "/cart").to_owned();
    let Some(quantity) = quantity(&form.quantity) else {
        return refuse(&visit, &back, "Choose a quantity from 1 to 99.");
    };
    if form.variant_id.is_empty() {
        return refuse(&visit, &back, "Choose an option first.");
    }
    let caller = visit.caller().await;
    let body = serde_json::json!({"variant_id": form.variant_id, "quantity": quantity});
    let mut attempt = 0;
    let cart = loop {
        let cart = match current_or_new(&visit, &caller).await {
            Ok(cart) => cart,
            Err(e) => return visit.failure(&e, &back).await,
        };
        match visit
            .state
            .api
            .send::<Cart>(
                &caller,
                Method::POST,
                &format!("/api/v1/carts/{}/items", cart.id),
                &body,
            )
            .await
        {
            Ok(cart) => break cart,
            // A 404 names the cart or the variant: if the guest cart
            // expired between the two calls (reading it again forgets it),
            // open another once.
            Err(e)
                if e.is_not_found()
                    && attempt == 0
                    && cart.customer_id.is_none()
                    && matches!(current(&visit, &caller).await, Ok(None)) =>
            {
                attempt += 1;
            }
            Err(e) if e.is_unauthorized() => return visit.failure(&e, &back).await,
            Err(e) if e.problem().is_some() && e.status().is_client_error() => {
                return refuse(&visit, &back, &e.message());
            }
            Err(e) => return visit.failure(&e, &back).await,
        }
    };
    visit.remember_cart_count(cart.item_count);
    if !visit.wants_json {
        visit.session.flash(true, "Added to your cart.");
    }
    done(
        &visit,
        "/cart",
        serde_json::json!({"ok": true, "cart_count": cart.item_count, "message": "Added to your cart."}),
    )
}

fn quantity(text: &str) -> Option<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|q| (0..=99).contains(q))
}

fn refuse(visit: &Visit, back: &str, message: &str) -> Response {
    if visit.wants_json {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(serde_json::json!({"ok": false, "message": message})),
        )
            .into_response();
    }
    visit.session.flash(false, message);
    Redirect::to(back).into_response()
}

#[derive(Debug, Deserialize)]
pub struct QuantityForm {
    #[serde(default)]
    quantity: String,
}

/// `POST /cart/items/{item}`: a new quantity (0 removes the line).
pub async fn update(
    visit: Visit,
    Path(item): Path<String>,
    CsrfForm(form): CsrfForm<QuantityForm>,
) -> Response {
    let Some(quantity) = quantity(&form.quantity) else {
        return refuse(&visit, "/cart", "Choose a quantity from 0 to 99.");
    };
    change(&visit, Method::PATCH, &item, Some(quantity)).await
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /cart/items/{item}/remove`.
pub async fn remove(
    visit: Visit,
    Path(item): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    change(&visit, Method::DELETE, &item, None).await
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /cart/promotions`: applies a code; the API's reason when it cannot.
pub async fn apply_code(visit: Visit, CsrfForm(form): CsrfForm<CodeForm>) -> Response {
    let code = form.code.trim();
    if code.is_empty() {
        return refuse(&visit, "/cart", "Enter a promotion code.");
    }
    let caller = visit.caller().await;
    let cart = match current(&visit, &caller).await {
        Ok(Some(cart)) => cart,
        Ok(None) => return refuse(&visit, "/cart", "Add something to your cart first."),
        Err(e) => return visit.failure(&e, "/cart").await,
    };
    let path = format!("/api/v1/carts/{}/promotions", cart.id);
    match visit
        .state
        .api
        .send::<Cart>(
            &caller,
            Method::POST,
            &path,
            &serde_json::json!({"code": code}),
        )
        .await
    {
        Ok(_) => {
            visit.session.flash(true, "The code is applied.");
            Redirect::to("/cart").into_response()
        }
        Err(e) if e.problem().is_some() && e.status().is_client_error() && !e.is_unauthorized() => {
            // The problem's detail names the code and why it cannot apply.
            refuse(&visit, "/cart", &e.message())
        }
        Err(e) => visit.failure(&e, "/cart").await,
    }
}

/// `POST /cart/promotions/remove`.
pub async fn remove_code(visit: Visit, CsrfForm(form): CsrfForm<CodeForm>) -> Response {
    let caller = visit.caller().await;
    let cart = match current(&visit, &caller).await {
        Ok(Some(cart)) => cart,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(e) => return visit.failure(&e, "/cart").await,
    };
    let path = format!(
        "/api/v1/carts/{}/promotions/{}",
        cart.id,
        super::encode(form.code.trim())
    );
    match visit.state.api.delete::<Cart>(&caller, &path).await {
        Ok(_) => {
            visit.session.flash(true, "The code is removed.");
            Redirect::to("/cart").into_response()
        }
        Err(e) => visit.failure(&e, "/cart").await,
    }
}

async fn change(visit: &Visit, method: Method, item: &str, quantity: Option<i64>) -> Response {
    let caller = visit.caller().await;
    let cart = match current(visit, &caller).await {
        Ok(Some(cart)) => cart,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(e) => return visit.failure(&e, "/cart").await,
    };
    let path = format!("/api/v1/carts/{}/items/{}", cart.id, super::encode(item));
    let result = match quantity {
        Some(q) => {
            visit
                .state
                .api
                .send::<Cart>(&caller, method, &path, &serde_json::json!({"quantity": q}))
                .await
        }
        None => visit.state.api.delete::<Cart>(&caller, &path).await,
    };
    match result {
        Ok(cart) => {
            visit.remember_cart_count(cart.item_count);
            visit.session.flash(true, "Your cart is updated.");
            Redirect::to("/cart").into_response()
        }
        Err(e) if e.is_not_found() => Redirect::to("/cart").into_response(),
        Err(e) if e.problem().is_some() && e.status().is_client_error() && !e.is_unauthorized() => {
            refuse(visit, "/cart", &e.message())
        }
        Err(e) => visit.failure(&e, "/cart").await,
    }
}
