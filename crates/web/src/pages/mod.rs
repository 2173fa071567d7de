//! Handlers: each reads the visit (session, caller), asks the API, and
//! renders a view or redirects. What they share lives here.

pub mod account;
pub mod admin;
pub mod cart;
pub mod checkout;
pub mod shop;

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    AppState,
    api::{ApiError, Caller},
    models::{Category, Items, Tokens},
    session::{Auth, Session},
    views::{self, Chrome},
};

/// Form bodies larger than this are refused (an address is ~1 KiB).
const MAX_FORM: usize = 64 * 1024;

/// One page view: the visitor's session and how to call the API for them.
pub struct Visit {
    pub state: AppState,
    pub session: Session,
    client_ip: Option<std::net::IpAddr>,
    request_id: Option<String>,
    /// The page asked for JSON (the script's enhanced forms).
    pub wants_json: bool,
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| error_page(StatusCode::INTERNAL_SERVER_ERROR, None))?;
        let client_ip = parts
            .extensions
            .get::<platform::http::extract::ClientIp>()
            .and_then(|ip| ip.0);
        let request_id = parts
            .extensions
            .get::<platform::http::extract::RequestId>()
            .map(|id| id.0.clone());
        let wants_json = parts
            .headers
            .get(header::ACCEPT)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        Ok(Self {
            state: state.clone(),
            session,
            client_ip,
            request_id,
            wants_json,
        })
    }
}

impl Visit {
    /// A caller without a token.
    pub fn anonymous(&self) -> Caller {
        Caller {
            token: None,
            client_ip: self.client_ip,
            request_id: self.request_id.clone(),
        }
    }

    /// The caller for the API: the customer's token, refreshed when it is
    /// about to expire (a refresh that fails logs the visitor out).
    pub async fn caller(&self) -> Caller {
        let mut caller = self.anonymous();
        let Some(auth) = self.session.read(|d| d.auth.clone()) else {
            return caller;
        };
        if auth.expires_at > now() + 30 {
            caller.token = Some(auth.access);
            return caller;
        }
        match self
            .state
            .refresher
            .refresh(&self.state, &caller, &auth.refresh)
            .await
        {
            Ok(tokens) => {
                self.session.update(|d| {
                    if let Some(a) = d.auth.as_mut() {
                        a.access = tokens.access_token.clone();
                        a.refresh = tokens.refresh_token.clone();
                        a.expires_at = now() + tokens.expires_in;
                    }
                });
                caller.token = Some(tokens.access_token);
            }
            Err(e) if e.problem().is_some() => {
                // Revoked, expired or disabled: the visitor is a guest again.
                self.session.update(|d| {
                    d.auth = None;
                    d.cart_count = 0;
                });
            }
            Err(_) => caller.token = Some(auth.access),
        }
        caller
    }

    /// The logged-in customer, if any.
    pub fn auth(&self) -> Option<Auth> {
        self.session.read(|d| d.auth.clone())
    }

    /// The header, footer and navigation of every page.
    pub async fn chrome(&self) -> Chrome {
        let categories = self.state.categories.get(self).await;
        let (auth, cart_count) = self.session.read(|d| (d.auth.clone(), d.cart_count));
        Chrome {
            shop_name: self.state.settings.shop_name.clone(),
            customer: auth.map(|a| a.name),
            cart_count,
            csrf: self.session.csrf(),
            flash: self.session.take_flash(),
            departments: categories
                .into_iter()
                .filter(|c| c.parent_id.is_none())
                .collect(),
        }
    }

    /// Records the cart's unit count for the header's badge.
    pub fn remember_cart_count(&self, count: i64) {
        if self.session.read(|d| d.cart_count) != count {
            self.session.update(|d| d.cart_count = count);
        }
    }

    /// The login page, coming back to `next` afterwards.
    pub fn login_redirect(&self, next: &str) -> Response {
        self.session.flash(false, "Please log in to continue.");
        Redirect::to(&format!("/account/login?next={}", encode(next))).into_response()
    }

    /// A rendered page for an API failure.
    pub async fn failure(&self, error: &ApiError, next: &str) -> Response {
        if error.is_unauthorized() {
            self.session.update(|d| d.auth = None);
            return self.login_redirect(next);
        }
        let chrome = self.chrome().await;
        if error.is_not_found() {
            return (StatusCode::NOT_FOUND, views::not_found(&chrome)).into_response();
        }
        let status = match error.status() {
            s if s.is_server_error() => s,
            StatusCode::TOO_MANY_REQUESTS => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_GATEWAY,
        };
        (
            status,
            views::error(
                &chrome,
                &error.message(),
                error.problem().and_then(|p| p.request_id.as_deref()),
            ),
        )
            .into_response()
    }
}

/// The fields of an address as a form posts them (the address book's and
/// the checkout's).
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct AddressForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub phone: String,
}

impl AddressForm {
    /// The address the API is sent: trimmed, empty optional fields left
    /// out, the country code upper-cased.
    pub fn to_address(&self) -> crate::models::Address {
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        crate::models::Address {
            id: None,
            name: self.name.trim().to_owned(),
            line1: self.line1.trim().to_owned(),
            line2: optional(&self.line2),
            city: self.city.trim().to_owned(),
            region: optional(&self.region),
            postal_code: self.postal_code.trim().to_owned(),
            country: self.country.trim().to_ascii_uppercase(),
            phone: optional(&self.phone),
        }
    }
}

/// A form body, accepted only with this session's CSRF token in `_csrf`.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let session = req.extensions().get::<Session>().cloned();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| error_page(StatusCode::PAYLOAD_TOO_LARGE, None))?;
        if bytes.len() > MAX_FORM {
            return Err(error_page(StatusCode::PAYLOAD_TOO_LARGE, None));
        }
        let token = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !session.is_some_and(|s| s.csrf_matches(&token)) {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                Some("This form has expired. Please go back, reload the page and try again."),
            ));
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|_| error_page(StatusCode::BAD_REQUEST, Some("The form could not be read.")))
    }
}

/// A page without the API's chrome (the header needs no call to fail).
pub fn error_page(status: StatusCode, message: Option<&str>) -> Response {
    let text = message.unwrap_or(match status.as_u16() {
        404 => "We could not find that page.",
        413 => "That was more than the shop accepts in one go.",
        _ => "Something went wrong on our side. Please try again.",
    });
    (status, views::bare_error(status, text)).into_response()
}

/// The HTML 404 page.
pub fn not_found_page() -> Response {
    (StatusCode::NOT_FOUND, views::not_found(&Chrome::default())).into_response()
}

/// Unknown paths: a problem+json 404 under the API's prefixes (as the API
/// has always answered), a page otherwise.
pub async fn fallback(req: Request) -> Response {
    if crate::is_api_path(req.uri().path()) {
        return platform::http::problem::Problem::not_found("No such resource.").into_response();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return error_page(
            StatusCode::METHOD_NOT_ALLOWED,
            Some("That cannot be done here."),
        );
    }
    not_found_page()
}

/// Headers every page carries: no framing by other sites, no sniffing, no
/// referrer leaking a reset token, a content policy that allows only the
/// shop's own files (and Stripe.js on the payment page).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self' https:; base-uri 'none'",
            ));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("private, no-cache"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Refreshes tokens one at a time per process, and answers a refresh token
/// refreshed in the last minute with the pair it got: two pages loaded at
/// once must not present the same refresh token twice, which the API
/// treats as theft and answers by revoking the whole family.
#[derive(Default)]
pub struct Refresher {
    lock: tokio::sync::Mutex<()>,
    recent: Mutex<HashMap<String, (Instant, Tokens)>>,
}

impl Refresher {
    async fn refresh(
        &self,
        state: &AppState,
        caller: &Caller,
        refresh_token: &str,
    ) -> Result<Tokens, ApiError> {
        let _turn = self.lock.lock().await;
        if let Some(tokens) = self.recent(refresh_token) {
            return Ok(tokens);
        }
        let tokens: Tokens = state
            .api
            .send(
                caller,
                Method::POST,
                "/api/v1/auth/refresh",
                &serde_json::json!({"refresh_token": refresh_token}),
            )
            .await?;
        if let Ok(mut recent) = self.recent.lock() {
            recent.retain(|_, (at, _)| at.elapsed() < Duration::from_secs(60));
            recent.insert(refresh_token.to_owned(), (Instant::now(), tokens.clone()));
        }
        Ok(tokens)
    }

    fn recent(&self, refresh_token: &str) -> Option<Tokens> {
        let recent = self.recent.lock().ok()?;
        recent
            .get(refresh_token)
            .filter(|(at, _)| at.elapsed() < Duration::from_secs(60))
            .map(|(_, tokens)| tokens.clone())
    }
}

/// The category tree, reused for a few seconds: every page's navigation
/// shows it, and it changes rarely.
pub struct CategoryCache {
    ttl: Duration,
    cached: Mutex<Option<(Instant, Vec<Category>)>>,
}

impl CategoryCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// Drops the cached tree (the admin changed it).
    pub fn forget(&self) {
        if let Ok(mut cached) = self.cached.lock() {
            *cached = None;
        }
    }

    /// The categories; empty when the catalog cannot be reached (the page
    /// still renders without navigation).
    pub async fn get(&self, visit: &Visit) -> Vec<Category> {
        if let Ok(cached) = self.cached.lock()
            && let Some((at, categories)) = cached.as_ref()
            && at.elapsed() < self.ttl
        {
            return categories.clone();
        }
        match visit
            .state
            .api
            .get::<Items<Category>>(&visit.anonymous(), "/api/v1/categories")
            .await
        {
            Ok(list) => {
                if let Ok(mut cached) = self.cached.lock() {
                    *cached = Some((Instant::now(), list.items.clone()));
                }
                list.items
            }
            Err(e) => {
                tracing::warn!(error = ?e, "categories unavailable for the navigation");
                Vec::new()
            }
        }
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A query string of the non-empty pairs.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

/// `next` when it is a path of this site, else `fallback` (an open
/// redirect would let a phishing link bounce off the shop).
pub fn safe_next<'a>(next: Option<&'a str>, fallback: &'a str) -> &'a str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => fallback,
    }
}

/// Answer of an enhanced form: JSON for the script, a redirect otherwise.
pub fn done(visit: &Visit, location: &str, json: impl Serialize) -> Response {
    if visit.wants_json {
        axum::Json(json).into_response()
    } else {
        Redirect::to(location).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/cart"), "/account"), "/cart");
        assert_eq!(safe_next(Some("//evil.example"), "/account"), "/account");
        assert_eq!(
            safe_next(Some("https://evil.example"), "/account"),
            "/account"
        );
        assert_eq!(safe_next(Some("/\\evil.example"), "/account"), "/account");
        assert_eq!(safe_next(None, "/account"), "/account");
    }

    #[test]
    fn queries_leave_out_empty_values() {
        assert_eq!(
            query(&[("q", "red shoe"), ("sort", ""), ("in_stock", "true")]),
            "q=red+shoe&in_stock=true"
        );
    }
}
