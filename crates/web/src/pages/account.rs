//! Accounts: register, log in and out, password reset, email
//! verification, profile, address book, order history, preferences.

use axum::{
    extract::{Path, Query},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{AddressForm, CsrfForm, Visit, now, safe_next};
use crate::{
    api::{ApiError, Caller},
    models::{Address, ApiProblem, Cart, Items, Order, Page, Preferences, Tokens, User},
    session::Auth,
    views::account as view,
};

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// `GET /account/login`.
pub async fn login_form(visit: Visit, Query(q): Query<NextQuery>) -> Response {
    if visit.auth().is_some() {
        return Redirect::to(safe_next(q.next.as_deref(), "/account")).into_response();
    }
    let chrome = visit.chrome().await;
    view::login(&chrome, "", safe_next(q.next.as_deref(), "/account"), None).into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    pub next: Option<String>,
}

/// The API's tokens for `form`'s email and password; a 401 (wrong
/// password, unknown or disabled account alike) says so in one sentence.
pub async fn credentials(visit: &Visit, form: &LoginForm) -> Result<Tokens, ApiError> {
    visit
        .state
        .api
        .send(
            &visit.anonymous(),
            Method::POST,
            "/api/v1/auth/login",
            &serde_json::json!({"email": form.email.trim(), "password": form.password}),
        )
        .await
        .map_err(|e| match e {
            ApiError::Problem(p) if p.status == 401 => ApiError::Problem(ApiProblem {
                detail: Some("That email and password do not match an account.".into()),
                ..p
            }),
            other => other,
        })
}

/// `POST /account/login`.
pub async fn login(visit: Visit, CsrfForm(form): CsrfForm<LoginForm>) -> Response {
    let next = safe_next(form.next.as_deref(), "/account").to_owned();
    match credentials(&visit, &form).await {
        Ok(tokens) => establish(&visit, tokens, &next).await,
        Err(ApiError::Problem(p)) if p.status < 500 => {
            let chrome = visit.chrome().await;
            (
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST),
                view::login(&chrome, &form.email, &next, Some(&p)),
            )
                .into_response()
        }
        Err(e) => visit.failure(&e, "/account/login").await,
    }
}

/// Keeps the tokens in the session, claims the guest cart, and goes on.
async fn establish(visit: &Visit, tokens: Tokens, next: &str) -> Response {
    let caller = Caller {
        token: Some(tokens.access_token.clone()),
        ..visit.anonymous()
    };
    let user = match tokens.user.clone() {
        Some(user) => user,
        None => match visit
            .state
            .api
            .get::<User>(&caller, "/api/v1/users/me")
            .await
        {
            Ok(user) => user,
            Err(e) => return visit.failure(&e, "/account/login").await,
        },
    };
    visit.session.update(|d| {
        d.auth = Some(Auth {
            access: tokens.access_token.clone(),
            refresh: tokens.refresh_token.clone(),
            expires_at: now() + tokens.expires_in,
            name: user.name.clone(),
            email: user.email.clone(),
            role: user.role.clone(),
        });
    });
    let guest_cart = visit.session.read(|d| d.cart.clone());
    let cart = match guest_cart {
        Some(id) => {
            visit.session.update(|d| d.cart = None);
            match visit
                .state
                .api
                .send::<Cart>(
                    &caller,
                    Method::POST,
                    &format!("/api/v1/carts/{id}/claim"),
                    &serde_json::json!({}),
                )
                .await
            {
                Ok(cart) => Some(cart),
                Err(e) => {
                    tracing::info!(error = ?e, "guest cart not claimed");
                    None
                }
            }
        }
        None => None,
    };
    let cart = match cart {
        Some(cart) => Some(cart),
        None => visit
            .state
            .api
            .get::<Cart>(&caller, "/api/v1/carts/mine")
            .await
            .ok(),
    };
    visit.remember_cart_count(cart.map_or(0, |c| c.item_count));
    visit
        .session
        .flash(true, format!("Welcome, {}.", user.name));
    Redirect::to(next).into_response()
}

/// `GET /account/register`.
pub async fn register_form(visit: Visit, Query(q): Query<NextQuery>) -> Response {
    let chrome = visit.chrome().await;
    view::register(
        &chrome,
        &RegisterForm::default(),
        safe_next(q.next.as_deref(), "/account"),
        None,
    )
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    pub next: Option<String>,
}

/// `POST /account/register`.
pub async fn register(visit: Visit, CsrfForm(form): CsrfForm<RegisterForm>) -> Response {
    let next = safe_next(form.next.as_deref(), "/account").to_owned();
    let result: Result<Tokens, ApiError> = visit
        .state
        .api
        .send(
            &visit.anonymous(),
            Method::POST,
            "/api/v1/auth/register",
            &serde_json::json!({"email": form.email.trim(), "password": form.password, "name": form.name.trim()}),
        )
        .await;
    match result {
        Ok(tokens) => establish(&visit, tokens, &next).await,
        Err(ApiError::Problem(p)) if p.status < 500 => {
            let p = if p.status == 409 {
                ApiProblem {
                    detail: Some(
                        "An account with this email exists already. Log in, or reset the password."
                            .into(),
                    ),
                    ..p
                }
            } else {
                p
            };
            let chrome = visit.chrome().await;
            (
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST),
                view::register(&chrome, &form, &next, Some(&p)),
            )
                .into_response()
        }
        Err(e) => visit.failure(&e, "/account/register").await,
    }
}

/// `POST /account/logout`.
pub async fn logout(visit: Visit, CsrfForm(_): CsrfForm<super::cart::Empty>) -> Response {
    if let Some(auth) = visit.auth() {
        // The refresh token stops working; the access token dies in minutes.
        if let Err(e) = visit
            .state
            .api
            .execute(
                &visit.anonymous(),
                Method::POST,
                "/api/v1/auth/logout",
                Some(&serde_json::json!({"refresh_token": auth.refresh})),
            )
            .await
        {
            tracing::info!(error = ?e, "logout not confirmed by the API");
        }
    }
    visit.session.update(|d| {
        d.auth = None;
        d.cart = None;
        d.cart_count = 0;
        // A new secret for the next visitor of this browser.
        d.csrf = crate::session::random_token();
    });
    visit.session.flash(true, "You are logged out.");
    Redirect::to("/").into_response()
}

/// `GET /account/password-reset`.
pub async fn reset_request_form(visit: Visit) -> Response {
    let chrome = visit.chrome().await;
    view::reset_request(&chrome, None).into_response()
}

#[derive(Debug, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /account/password-reset`.
pub async fn reset_request(visit: Visit, CsrfForm(form): CsrfForm<EmailForm>) -> Response {
    match visit
        .state
        .api
        .execute(
            &visit.anonymous(),
            Method::POST,
            "/api/v1/auth/password-reset",
            Some(&serde_json::json!({"email": form.email.trim()})),
        )
        .await
    {
        Ok(()) => {
            visit.session.flash(
                true,
                "If an account uses that email, a link to choose a new password is on its way.",
            );
            Redirect::to("/account/login").into_response()
        }
        Err(ApiError::Problem(p)) if p.status == 422 => {
            let chrome = visit.chrome().await;
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                view::reset_request(&chrome, Some(&p)),
            )
                .into_response()
        }
        Err(e) => visit.failure(&e, "/account/password-reset").await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /reset-password?token=`: the mailed link.
pub async fn reset_form(visit: Visit, Query(q): Query<TokenQuery>) -> Response {
    let chrome = visit.chrome().await;
    view::reset(&chrome, &q.token, None).into_response()
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
}

/// `POST /reset-password`.
pub async fn reset(visit: Visit, CsrfForm(form): CsrfForm<ResetForm>) -> Response {
    match visit
        .state
        .api
        .execute(
            &visit.anonymous(),
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(&serde_json::json!({"token": form.token, "new_password": form.new_password})),
        )
        .await
    {
        Ok(()) => {
            visit
                .session
                .flash(true, "Your password is changed. Log in with the new one.");
            Redirect::to("/account/login").into_response()
        }
        Err(ApiError::Problem(p)) if p.status == 422 => {
            let chrome = visit.chrome().await;
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                view::reset(&chrome, &form.token, Some(&p)),
            )
                .into_response()
        }
        Err(e) => visit.failure(&e, "/reset-password").await,
    }
}

/// `GET /verify-email?token=`: the mailed link shows a button, so that a
/// mail scanner following links does not verify on the owner's behalf.
pub async fn verify_form(visit: Visit, Query(q): Query<TokenQuery>) -> Response {
    let chrome = visit.chrome().await;
    view::verify(&chrome, &q.token, None).into_response()
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    token: String,
}

/// `POST /verify-email`.
pub async fn verify(visit: Visit, CsrfForm(form): CsrfForm<VerifyForm>) -> Response {
    match visit
        .state
        .api
        .execute(
            &visit.anonymous(),
            Method::POST,
            "/api/v1/auth/verify-email",
            Some(&serde_json::json!({"token": form.token})),
        )
        .await
    {
        Ok(()) => {
            visit
                .session
                .flash(true, "Your email address is verified. Thank you.");
            Redirect::to(if visit.auth().is_some() {
                "/account"
            } else {
                "/"
            })
            .into_response()
        }
        Err(ApiError::Problem(p)) if p.status == 422 => {
            let p = ApiProblem {
                detail: Some("This link is not valid any more. Log in and ask for a new one from your account page.".into()),
                ..p
            };
            let chrome = visit.chrome().await;
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                view::verify(&chrome, &form.token, Some(&p)),
            )
                .into_response()
        }
        Err(e) => visit.failure(&e, "/verify-email").await,
    }
}

/// The caller of a page that needs an account, or the login redirect.
async fn customer(visit: &Visit, here: &str) -> Result<Caller, Response> {
    // No token: never logged in, or the refresh failed and logged out.
    let caller = visit.caller().await;
    if caller.token.is_none() {
        return Err(visit.login_redirect(here));
    }
    Ok(caller)
}

/// `GET /account`.
pub async fn profile(visit: Visit) -> Response {
    let caller = match customer(&visit, "/account").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match visit
        .state
        .api
        .get::<User>(&caller, "/api/v1/users/me")
        .await
    {
        Ok(user) => {
            let chrome = visit.chrome().await;
            view::profile(&chrome, &user, None).into_response()
        }
        Err(e) => visit.failure(&e, "/account").await,
    }
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

/// `POST /account`: name and phone.
pub async fn update_profile(visit: Visit, CsrfForm(form): CsrfForm<ProfileForm>) -> Response {
    let caller = match customer(&visit, "/account").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let phone = form.phone.trim();
    let body = serde_json::json!({
        "name": form.name.trim(),
        "phone": if phone.is_empty() { serde_json::Value::Null } else { phone.into() },
    });
    match visit
        .state
        .api
        .send::<User>(&caller, Method::PATCH, "/api/v1/users/me", &body)
        .await
    {
        Ok(user) => {
            visit.session.update(|d| {
                if let Some(a) = d.auth.as_mut() {
                    a.name = user.name.clone();
                }
            });
            visit.session.flash(true, "Your details are saved.");
            Redirect::to("/account").into_response()
        }
        Err(ApiError::Problem(p)) if p.status == 422 => {
            match visit
                .state
                .api
                .get::<User>(&caller, "/api/v1/users/me")
                .await
            {
                Ok(user) => {
                    let chrome = visit.chrome().await;
                    let shown = User {
                        name: form.name.clone(),
                        phone: Some(form.phone.clone()),
                        ..user
                    };
                    (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        view::profile(&chrome, &shown, Some(&p)),
                    )
                        .into_response()
                }
                Err(e) => visit.failure(&e, "/account").await,
            }
        }
        Err(e) => visit.failure(&e, "/account").await,
    }
}

/// `POST /account/verification`: mails a new verification link.
pub async fn resend_verification(
    visit: Visit,
    CsrfForm(_): CsrfForm<super::cart::Empty>,
) -> Response {
    let caller = match customer(&visit, "/account").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match visit
        .state
        .api
        .execute(
            &caller,
            Method::POST,
            "/api/v1/users/me/email-verification",
            None,
        )
        .await
    {
        Ok(()) => visit
            .session
            .flash(true, "A new verification link is on its way."),
        Err(e) if e.status() == StatusCode::CONFLICT => {
            visit
                .session
                .flash(true, "Your email address is verified already.");
        }
        Err(e) => visit.session.flash(false, e.message()),
    }
    Redirect::to("/account").into_response()
}

/// `GET /account/addresses`.
pub async fn addresses(visit: Visit) -> Response {
    let caller = match customer(&visit, "/account/addresses").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    render_addresses(
        &visit,
        &caller,
        &AddressForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn render_addresses(
    visit: &Visit,
    caller: &Caller,
    form: &AddressForm,
    problem: Option<&ApiProblem>,
    status: StatusCode,
) -> Response {
    match visit
        .state
        .api
        .get::<Items<Address>>(caller, "/api/v1/users/me/addresses")
        .await
    {
        Ok(list) => {
            let chrome = visit.chrome().await;
            (status, view::addresses(&chrome, &list.items, form, problem)).into_response()
        }
        Err(e) => visit.failure(&e, "/account/addresses").await,
    }
}

/// `POST /account/addresses`.
pub async fn add_address(visit: Visit, CsrfForm(form): CsrfForm<AddressForm>) -> Response {
    let caller = match customer(&visit, "/account/addresses").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let address = form.to_address();
    match visit
        .state
        .api
        .send::<Address>(
            &caller,
            Method::POST,
            "/api/v1/users/me/addresses",
            &address,
        )
        .await
    {
        Ok(_) => {
            visit.session.flash(true, "Address saved.");
            Redirect::to("/account/addresses").into_response()
        }
        Err(ApiError::Problem(p)) if p.status == 422 || p.status == 409 => {
            render_addresses(
                &visit,
                &caller,
                &form,
                Some(&p),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => visit.failure(&e, "/account/addresses").await,
    }
}

/// `POST /account/addresses/{id}/delete`.
pub async fn delete_address(
    visit: Visit,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<super::cart::Empty>,
) -> Response {
    let caller = match customer(&visit, "/account/addresses").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match visit
        .state
        .api
        .execute(
            &caller,
            Method::DELETE,
            &format!("/api/v1/users/me/addresses/{}", super::encode(&id)),
            None,
        )
        .await
    {
        Ok(()) => visit.session.flash(true, "Address removed."),
        Err(e) if e.is_not_found() => {}
        Err(e) => return visit.failure(&e, "/account/addresses").await,
    }
    Redirect::to("/account/addresses").into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct CursorQuery {
    #[serde(default)]
    cursor: String,
}

/// `GET /account/orders`.
pub async fn orders(visit: Visit, Query(q): Query<CursorQuery>) -> Response {
    let caller = match customer(&visit, "/account/orders").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let path = format!(
        "/api/v1/orders?{}",
        super::query(&[("limit", "20"), ("cursor", &q.cursor)])
    );
    match visit.state.api.get::<Page<Order>>(&caller, &path).await {
        Ok(page) => {
            let chrome = visit.chrome().await;
            let next = page
                .next_cursor
                .as_ref()
                .map(|c| format!("/account/orders?{}", super::query(&[("cursor", c)])));
            view::orders(&chrome, &page.items, next).into_response()
        }
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            Redirect::to("/account/orders").into_response()
        }
        Err(e) => visit.failure(&e, "/account/orders").await,
    }
}

/// `GET /account/preferences`.
pub async fn preferences(visit: Visit) -> Response {
    let caller = match customer(&visit, "/account/preferences").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match visit
        .state
        .api
        .get::<Preferences>(&caller, "/api/v1/notifications/preferences")
        .await
    {
        Ok(prefs) => {
            let chrome = visit.chrome().await;
            view::preferences(&chrome, prefs).into_response()
        }
        Err(e) => visit.failure(&e, "/account/preferences").await,
    }
}

#[derive(Debug, Deserialize)]
pub struct PreferencesForm {
    email: Option<String>,
    sms: Option<String>,
}

/// `POST /account/preferences`.
pub async fn update_preferences(
    visit: Visit,
    CsrfForm(form): CsrfForm<PreferencesForm>,
) -> Response {
    let caller = match customer(&visit, "/account/preferences").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let prefs = Preferences {
        email: form.email.is_some(),
        sms: form.sms.is_some(),
    };
    match visit
        .state
        .api
        .send::<Preferences>(
            &caller,
            Method::PUT,
            "/api/v1/notifications/preferences",
            &prefs,
        )
        .await
    {
        Ok(_) => {
            visit.session.flash(true, "Your preferences are saved.");
            Redirect::to("/account/preferences").into_response()
        }
        Err(e) => visit.failure(&e, "/account/preferences").await,
    }
}
