//! Checkout, payment and the order page.

use axum::{
    extract::{Path, Query},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{AddressForm, CsrfForm, Visit, cart::current};
use crate::{
    api::{ApiError, Caller},
    models::{Address, ApiProblem, Cart, Items, Order, Payment, ShippingChoice},
    session::random_token,
    views::{self, checkout::CheckoutView},
};

/// What the checkout form posts (and shows again after a problem).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub address_id: String,
    #[serde(flatten)]
    pub address: AddressForm,
    #[serde(default)]
    pub payment_provider: String,
    #[serde(default)]
    pub save_address: String,
    /// The shipping option chosen; empty: the cheapest for the address.
    #[serde(default)]
    pub shipping_option_id: String,
    /// Set by the "Show shipping options" button: show them for the
    /// address entered, place nothing.
    #[serde(default)]
    pub refresh: String,
}

impl CheckoutForm {
    /// The destination country the form names: the chosen saved address's,
    /// else the one typed in.
    fn country(&self, addresses: &[Address]) -> Option<String> {
        let country = addresses
            .iter()
            .find(|a| a.id.as_deref() == Some(self.address_id.as_str()))
            .map_or(self.address.country.as_str(), |a| a.country.as_str())
            .trim()
            .to_ascii_uppercase();
        (country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic())).then_some(country)
    }
}

/// `GET /checkout`.
pub async fn form(visit: Visit) -> Response {
    let caller = visit.caller().await;
    let cart = match nonempty_cart(&visit, &caller).await {
        Ok(Some(cart)) => cart,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(e) => return visit.failure(&e, "/checkout").await,
    };
    let addresses = match address_book(&visit, &caller).await {
        Ok(list) => list,
        Err(e) => return visit.failure(&e, "/checkout").await,
    };
    let values = CheckoutForm {
        key: random_token(),
        address_id: addresses
            .first()
            .and_then(|a| a.id.clone())
            .unwrap_or_else(|| "new".to_owned()),
        payment_provider: visit
            .state
            .settings
            .payment_providers
            .first()
            .cloned()
            .unwrap_or_default(),
        ..CheckoutForm::default()
    };
    render_form(&visit, &cart, &addresses, &values, None, StatusCode::OK).await
}

async fn nonempty_cart(visit: &Visit, caller: &Caller) -> Result<Option<Cart>, ApiError> {
    let cart = current(visit, caller).await?;
    if let Some(cart) = &cart {
        visit.remember_cart_count(cart.item_count);
    }
    match cart {
        Some(cart) if !cart.items.is_empty() => Ok(Some(cart)),
        _ => {
            visit.session.flash(false, "Your cart is empty.");
            Ok(None)
        }
    }
}

async fn address_book(visit: &Visit, caller: &Caller) -> Result<Vec<Address>, ApiError> {
    if caller.token.is_none() {
        return Ok(Vec::new());
    }
    visit
        .state
        .api
        .get::<Items<Address>>(caller, "/api/v1/users/me/addresses")
        .await
        .map(|list| list.items)
}

async fn render_form(
    visit: &Visit,
    cart: &Cart,
    addresses: &[Address],
    values: &CheckoutForm,
    problem: Option<&ApiProblem>,
    status: StatusCode,
) -> Response {
    let caller = visit.caller().await;
    let country = values.country(addresses);
    let options = match &country {
        Some(country) => match visit
            .state
            .api
            .get::<Items<ShippingChoice>>(
                &caller,
                &format!(
                    "/api/v1/carts/{}/shipping-options?country={country}",
                    cart.id
                ),
            )
            .await
        {
            Ok(list) => list.items,
            Err(e) => return visit.failure(&e, "/checkout").await,
        },
        None => Vec::new(),
    };
    let chrome = visit.chrome().await;
    let auth = visit.auth();
    (
        status,
        views::checkout::form(
            &chrome,
            &CheckoutView {
                cart,
                addresses,
                values,
                problem,
                providers: &visit.state.settings.payment_providers,
                account_email: auth.as_ref().map(|a| a.email.as_str()),
                country: country.as_deref(),
                options: &options,
            },
        ),
    )
        .into_response()
}

/// `POST /checkout`: places the order (once per form, whatever the number
/// of clicks: the form's key is the order's Idempotency-Key).
pub async fn place(visit: Visit, CsrfForm(form): CsrfForm<CheckoutForm>) -> Response {
    let caller = visit.caller().await;
    let cart = match nonempty_cart(&visit, &caller).await {
        Ok(Some(cart)) => cart,
        Ok(None) => return Redirect::to("/cart").into_response(),
        Err(e) => return visit.failure(&e, "/checkout").await,
    };
    let addresses = match address_book(&visit, &caller).await {
        Ok(list) => list,
        Err(e) => return visit.failure(&e, "/checkout").await,
    };
    let mut values = form.clone();
    if values.key.is_empty() || values.key.len() > 64 {
        values.key = random_token();
    }
    if !form.refresh.is_empty() {
        values.refresh.clear();
        return render_form(&visit, &cart, &addresses, &values, None, StatusCode::OK).await;
    }
    let shipping_address = match addresses
        .iter()
        .find(|a| a.id.as_deref() == Some(form.address_id.as_str()))
    {
        Some(saved) => Address {
            id: None,
            ..saved.clone()
        },
        None => form.address.to_address(),
    };
    let logged_in = caller.token.is_some();
    let mut body = serde_json::json!({
        "cart_id": cart.id,
        "shipping_address": shipping_address,
        "payment_provider": form.payment_provider,
    });
    if !logged_in {
        body["email"] = serde_json::Value::String(form.email.trim().to_owned());
    }
    if !form.shipping_option_id.is_empty() {
        body["shipping_option_id"] = serde_json::Value::String(form.shipping_option_id.clone());
    }
    let order: Order = match visit
        .state
        .api
        .send_idempotent(&caller, "/api/v1/orders", &body, &values.key)
        .await
    {
        Ok(order) => order,
        Err(ApiError::Problem(p)) if p.status == 422 || p.status == 409 => {
            if p.status == 422 {
                // Nothing was placed: the corrected form is a new attempt
                // (the API would refuse the old key with another body).
                values.key = random_token();
            }
            return render_form(
                &visit,
                &cart,
                &addresses,
                &values,
                Some(&p),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return visit.failure(&e, "/checkout").await,
    };
    visit.remember_cart_count(0);
    if logged_in && form.address_id == "new" && !form.save_address.is_empty() {
        // The order is placed; a refused address only costs the shortcut.
        if let Err(e) = visit
            .state
            .api
            .send::<Address>(
                &caller,
                Method::POST,
                "/api/v1/users/me/addresses",
                &shipping_address,
            )
            .await
        {
            tracing::info!(error = ?e, "address from checkout not saved");
        }
    }
    Redirect::to(&format!("/orders/{}/pay", order.id)).into_response()
}

async fn order_and_payment(
    visit: &Visit,
    caller: &Caller,
    id: &str,
) -> Result<(Order, Option<Payment>), ApiError> {
    let order: Order = visit
        .state
        .api
        .get(caller, &format!("/api/v1/orders/{}", super::encode(id)))
        .await?;
    let payments: Items<Payment> = visit
        .state
        .api
        .get(caller, &format!("/api/v1/payments?order_id={}", order.id))
        .await?;
    // The newest attempt decides what the page offers.
    Ok((order, payments.items.into_iter().last()))
}

/// `GET /orders/{id}/pay`.
pub async fn payment(visit: Visit, Path(id): Path<String>) -> Response {
    let caller = visit.caller().await;
    let (order, payment) = match order_and_payment(&visit, &caller, &id).await {
        Ok(found) => found,
        Err(e) => return visit.failure(&e, &format!("/orders/{id}/pay")).await,
    };
    if matches!(order.status.as_str(), "paid" | "shipped" | "delivered")
        || (order.status == "cancelled" && payment.as_ref().is_none_or(|p| p.status != "failed"))
    {
        return Redirect::to(&format!("/orders/{}", order.id)).into_response();
    }
    let chrome = visit.chrome().await;
    let settings = &visit.state.settings;
    let stripe =
        (!settings.stripe_publishable_key.is_empty()).then(|| views::checkout::StripeSetup {
            publishable_key: settings.stripe_publishable_key.as_str(),
            js_url: settings.stripe_js_url.as_str(),
        });
    let mut response =
        views::checkout::payment(&chrome, &order, payment.as_ref(), None, stripe.as_ref())
            .into_response();
    if payment.as_ref().is_some_and(|p| p.provider == "stripe")
        && let Some(origin) = origin(&settings.stripe_js_url)
        && let Ok(csp) = HeaderValue::from_str(&format!(
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; script-src 'self' {origin}; frame-src {origin} https:; connect-src 'self' {origin} https:; frame-ancestors 'none'; form-action 'self' https:; base-uri 'none'"
        ))
    {
        // Stripe.js runs from Stripe and draws its card field in a frame.
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

#[derive(Debug, Deserialize)]
pub struct PayForm {
    #[serde(default)]
    payment_id: String,
    #[serde(default)]
    card_number: String,
}

/// `POST /orders/{id}/pay`: the test provider's card form.
pub async fn pay(
    visit: Visit,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PayForm>,
) -> Response {
    let caller = visit.caller().await;
    let (order, payment) = match order_and_payment(&visit, &caller, &id).await {
        Ok(found) => found,
        Err(e) => return visit.failure(&e, &format!("/orders/{id}/pay")).await,
    };
    let Some(payment) = payment.filter(|p| p.id == form.payment_id) else {
        return Redirect::to(&format!("/orders/{}/pay", order.id)).into_response();
    };
    let card: String = form
        .card_number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let result: Result<Payment, ApiError> = visit
        .state
        .api
        .send(
            &caller,
            Method::POST,
            &format!("/api/v1/payments/{}/confirm", payment.id),
            &serde_json::json!({"card_number": card}),
        )
        .await;
    match result {
        Ok(p) if p.status == "succeeded" => {
            Redirect::to(&format!("/orders/{}?placed=1", order.id)).into_response()
        }
        Ok(_) => Redirect::to(&format!("/orders/{}/pay", order.id)).into_response(),
        Err(ApiError::Problem(p)) if p.status == 422 => {
            let chrome = visit.chrome().await;
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                views::checkout::payment(&chrome, &order, Some(&payment), Some(&p), None),
            )
                .into_response()
        }
        // No longer pending: the order page tells what happened.
        Err(e) if e.status() == StatusCode::CONFLICT => {
            Redirect::to(&format!("/orders/{}", order.id)).into_response()
        }
        Err(e) => {
            visit
                .failure(&e, &format!("/orders/{}/pay", order.id))
                .await
        }
    }
}

/// `POST /orders/{id}/retry`: a cancelled order's items back into the
/// cart, and on to checkout.
pub async fn retry(
    visit: Visit,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<super::cart::Empty>,
) -> Response {
    let caller = visit.caller().await;
    let order: Order = match visit
        .state
        .api
        .get(&caller, &format!("/api/v1/orders/{}", super::encode(&id)))
        .await
    {
        Ok(order) => order,
        Err(e) => return visit.failure(&e, &format!("/orders/{id}")).await,
    };
    if order.status != "cancelled" {
        return Redirect::to(&format!("/orders/{}", order.id)).into_response();
    }
    let mut cart = match super::cart::current_or_new(&visit, &caller).await {
        Ok(cart) => cart,
        Err(e) => return visit.failure(&e, "/cart").await,
    };
    let mut missing = Vec::new();
    for item in &order.items {
        match visit
            .state
            .api
            .send::<Cart>(
                &caller,
                Method::POST,
                &format!("/api/v1/carts/{}/items", cart.id),
                &serde_json::json!({"variant_id": item.variant_id, "quantity": item.quantity}),
            )
            .await
        {
            Ok(updated) => cart = updated,
            Err(_) => missing.push(item.product_name.clone()),
        }
    }
    visit.remember_cart_count(cart.item_count);
    if missing.is_empty() {
        visit
            .session
            .flash(true, "Your items are back in your cart.");
        Redirect::to("/checkout").into_response()
    } else {
        visit.session.flash(
            false,
            format!(
                "Some items could not be added again: {}.",
                missing.join(", ")
            ),
        );
        Redirect::to("/cart").into_response()
    }
}

#[derive(Debug, Deserialize)]
pub struct OrderQuery {
    placed: Option<String>,
}

/// `GET /orders/{id}`: the order, followed until it settles.
pub async fn order(visit: Visit, Path(id): Path<String>, Query(q): Query<OrderQuery>) -> Response {
    let caller = visit.caller().await;
    let (order, payment) = match order_and_payment(&visit, &caller, &id).await {
        Ok(found) => found,
        Err(e) => return visit.failure(&e, &format!("/orders/{id}")).await,
    };
    let chrome = visit.chrome().await;
    views::checkout::order(&chrome, &order, payment.as_ref(), q.placed.is_some()).into_response()
}

/// `GET /orders/{id}/status`: for the script that follows the order.
pub async fn status(visit: Visit, Path(id): Path<String>) -> Response {
    let caller = visit.caller().await;
    match visit
        .state
        .api
        .get::<Order>(&caller, &format!("/api/v1/orders/{}", super::encode(&id)))
        .await
    {
        Ok(order) => axum::Json(serde_json::json!({
            "status": order.status,
            "payment_status": order.payment_status,
            "label": views::checkout::status_label(&order.status),
            "settling": order.is_settling(),
        }))
        .into_response(),
        Err(e) => (
            e.status(),
            axum::Json(serde_json::json!({"message": e.message()})),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct PaypalQuery {
    #[serde(default)]
    payment: String,
}

/// `GET /checkout/paypal/return?payment=`: the buyer approved at PayPal;
/// capture, and show the order.
pub async fn paypal_return(visit: Visit, Query(q): Query<PaypalQuery>) -> Response {
    let caller = visit.caller().await;
    let payment = match paypal_payment(&visit, &caller, &q.payment).await {
        Ok(p) => p,
        Err(e) => return visit.failure(&e, "/").await,
    };
    let order_id = payment.order_id.clone();
    let captured: Result<Payment, ApiError> = visit
        .state
        .api
        .send(
            &caller,
            Method::POST,
            &format!("/api/v1/payments/{}/confirm", payment.id),
            &serde_json::json!({}),
        )
        .await;
    match captured {
        Ok(p) if p.status == "succeeded" => {
            Redirect::to(&format!("/orders/{order_id}?placed=1")).into_response()
        }
        Ok(_) => Redirect::to(&format!("/orders/{order_id}/pay")).into_response(),
        Err(e) if e.status() == StatusCode::CONFLICT => {
            Redirect::to(&format!("/orders/{order_id}")).into_response()
        }
        Err(e) => visit.failure(&e, &format!("/orders/{order_id}")).await,
    }
}

/// `GET /checkout/paypal/cancel?payment=`: the buyer turned back at PayPal.
pub async fn paypal_cancel(visit: Visit, Query(q): Query<PaypalQuery>) -> Response {
    let caller = visit.caller().await;
    match paypal_payment(&visit, &caller, &q.payment).await {
        Ok(p) => {
            visit.session.flash(
                false,
                "You left PayPal before approving. You can try again.",
            );
            Redirect::to(&format!("/orders/{}/pay", p.order_id)).into_response()
        }
        Err(e) => visit.failure(&e, "/").await,
    }
}

async fn paypal_payment(visit: &Visit, caller: &Caller, id: &str) -> Result<PaymentRef, ApiError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::Problem(ApiProblem::bare(404)));
    }
    visit
        .state
        .api
        .get(caller, &format!("/api/v1/payments/{id}"))
        .await
}

/// A payment with its order.
#[derive(Debug, Deserialize)]
struct PaymentRef {
    id: String,
    order_id: String,
}
