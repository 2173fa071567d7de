//! The admin dashboard at `/admin`: the same session, API and templates as
//! the storefront, for accounts with the `admin` role. Every handler takes
//! an [`Admin`], which only an admin's session yields; everything else is
//! sent to the sign-in page or refused.

pub mod catalog;
pub mod customers;
pub mod inventory;
pub mod orders;
pub mod signals;

use axum::{
    extract::{FromRequestParts, Query},
    http::{Method, StatusCode, request::Parts},
    response::{IntoResponse, Redirect, Response},
};

use super::{
    CsrfForm, Visit,
    account::{LoginForm, NextQuery, credentials},
    encode, now, safe_next,
};
use crate::{
    AppState,
    api::{ApiError, Caller},
    models::{ApiProblem, OrderSummary, Page, Stock, User},
    session::Auth,
    views::admin::{self as view, AdminChrome, Overview},
};

/// Low stock: fewer units than this available.
pub const LOW_STOCK: i64 = 5;

/// An admin's page view: the visit and the admin's caller for the API.
pub struct Admin {
    pub visit: Visit,
    pub caller: Caller,
    auth: Auth,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visit = Visit::from_request_parts(parts, state).await?;
        let here = parts
            .uri
            .path_and_query()
            .map_or("/admin", |p| p.as_str())
            .to_owned();
        let here = if parts.method == Method::GET {
            here
        } else {
            // After signing in again, a form's page, not its action.
            "/admin".to_owned()
        };
        let Some(auth) = visit.auth() else {
            return Err(sign_in_redirect(&here));
        };
        if auth.role != "admin" {
            return Err(refused(&visit));
        }
        let idle = i64::try_from(state.settings.admin_idle_secs).unwrap_or(i64::MAX);
        let seen = visit.session.read(|d| d.admin_seen);
        let now = now();
        match idleness(seen, now, idle) {
            Idle::Expired => {
                end_session(&visit, &auth).await;
                visit.session.flash(
                    false,
                    format!(
                        "You were signed out after {} without activity. Please sign in again.",
                        duration_words(state.settings.admin_idle_secs)
                    ),
                );
                return Err(sign_in_redirect(&here));
            }
            Idle::Refresh => visit.session.update(|d| d.admin_seen = now),
            Idle::Fresh => {}
        }
        let caller = visit.caller().await;
        if visit.auth().is_none() {
            // The refresh failed: the account was disabled or its sessions revoked.
            return Err(sign_in_redirect(&here));
        }
        Ok(Self {
            visit,
            caller,
            auth,
        })
    }
}

impl Admin {
    /// The frame of a dashboard page; `section` marks the navigation.
    pub fn chrome(&self, section: &'static str) -> AdminChrome {
        AdminChrome {
            shop_name: self.visit.state.settings.shop_name.clone(),
            admin: Some(self.auth.name.clone()),
            csrf: self.visit.session.csrf(),
            flash: self.visit.session.take_flash(),
            section,
        }
    }

    /// The API.
    pub fn api(&self) -> &crate::api::Api {
        &self.visit.state.api
    }

    /// Leaves a message for the next page.
    pub fn flash(&self, ok: bool, text: impl Into<String>) {
        self.visit.session.flash(ok, text);
    }

    /// The dashboard's 404 page.
    pub fn not_found(&self, section: &'static str) -> Response {
        self.failure(&ApiError::Problem(ApiProblem::bare(404)), section)
    }

    /// A page for an API failure that has no form to show it on.
    pub fn failure(&self, error: &ApiError, section: &'static str) -> Response {
        if error.is_unauthorized() {
            self.visit.session.update(|d| d.auth = None);
            return sign_in_redirect("/admin");
        }
        let (status, title) = match error.status() {
            StatusCode::NOT_FOUND => (StatusCode::NOT_FOUND, "Not found"),
            StatusCode::FORBIDDEN => (StatusCode::FORBIDDEN, "Not allowed"),
            s if s.is_server_error() => (s, "The API is not answering"),
            StatusCode::TOO_MANY_REQUESTS => (StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
            s if s.is_client_error() => (s, "That did not work"),
            _ => (StatusCode::BAD_GATEWAY, "The API is not answering"),
        };
        let message = match error.status() {
            StatusCode::NOT_FOUND => "There is nothing at this address any more.".to_owned(),
            _ => error.message(),
        };
        (
            status,
            view::message_page(
                &self.chrome(section),
                title,
                &message,
                error.problem().and_then(|p| p.request_id.as_deref()),
            ),
        )
            .into_response()
    }
}

/// Where an admin session stands, `seen` and `now` in Unix seconds.
#[derive(Debug, PartialEq, Eq)]
enum Idle {
    /// Seen recently: nothing to write.
    Fresh,
    /// Still valid; the time seen is worth rewriting the cookie for.
    Refresh,
    /// Idle too long.
    Expired,
}

fn idleness(seen: i64, now: i64, idle: i64) -> Idle {
    if seen > 0 && now - seen > idle {
        Idle::Expired
    } else if now - seen >= (idle / 10).clamp(1, 30) {
        // The cookie is rewritten at most every tenth of the allowance
        // (30 s at most), which measures idleness closely enough.
        Idle::Refresh
    } else {
        Idle::Fresh
    }
}

/// `30 minutes`, `45 seconds`.
fn duration_words(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 && s >= 3600 => {
            format!("{} hour{}", s / 3600, if s == 3600 { "" } else { "s" })
        }
        s if s % 60 == 0 && s >= 60 => {
            format!("{} minute{}", s / 60, if s == 60 { "" } else { "s" })
        }
        s => format!("{s} seconds"),
    }
}

/// The problem to show next to a form's fields, when the API refused the
/// input (4xx); other failures are pages of their own.
pub fn form_problem(error: ApiError) -> Result<ApiProblem, ApiError> {
    match error {
        ApiError::Problem(p) if (400..500).contains(&p.status) && p.status != 401 => Ok(p),
        other => Err(other),
    }
}

/// A status code for a form shown again with the API's problem.
pub fn problem_status(problem: &ApiProblem) -> StatusCode {
    StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST)
}

fn sign_in_redirect(next: &str) -> Response {
    Redirect::to(&format!("/admin/login?next={}", encode(next))).into_response()
}

fn refused(visit: &Visit) -> Response {
    let chrome = AdminChrome {
        shop_name: visit.state.settings.shop_name.clone(),
        csrf: visit.session.csrf(),
        ..AdminChrome::default()
    };
    (StatusCode::FORBIDDEN, view::refused(&chrome)).into_response()
}

/// Revokes a refresh token (the access token dies within minutes).
async fn revoke(visit: &Visit, refresh_token: &str) {
    if let Err(e) = visit
        .state
        .api
        .execute(
            &visit.anonymous(),
            Method::POST,
            "/api/v1/auth/logout",
            Some(&serde_json::json!({"refresh_token": refresh_token})),
        )
        .await
    {
        tracing::info!(error = ?e, "logout not confirmed by the API");
    }
}

/// Revokes the session's tokens and forgets them.
async fn end_session(visit: &Visit, auth: &Auth) {
    revoke(visit, &auth.refresh).await;
    visit.session.update(|d| {
        d.auth = None;
        d.admin_seen = 0;
        d.csrf = crate::session::random_token();
    });
}

/// `GET /admin/login`.
pub async fn login_form(visit: Visit, Query(q): Query<NextQuery>) -> Response {
    let next = admin_next(q.next.as_deref());
    if visit.auth().is_some_and(|a| a.role == "admin") {
        return Redirect::to(next).into_response();
    }
    let chrome = sign_in_chrome(&visit);
    view::login(&chrome, "", next, None).into_response()
}

/// `POST /admin/login`: only an admin's credentials open the dashboard.
pub async fn login(visit: Visit, CsrfForm(form): CsrfForm<LoginForm>) -> Response {
    let next = admin_next(form.next.as_deref()).to_owned();
    let chrome = sign_in_chrome(&visit);
    let shown = |status: StatusCode, problem: ApiProblem| {
        (
            status,
            view::login(&chrome, &form.email, &next, Some(&problem)),
        )
            .into_response()
    };
    let tokens = match credentials(&visit, &form).await {
        Ok(tokens) => tokens,
        Err(ApiError::Problem(p)) if p.status < 500 => {
            return shown(problem_status(&p), p);
        }
        Err(e) => return visit.failure(&e, "/admin/login").await,
    };
    let caller = Caller {
        token: Some(tokens.access_token.clone()),
        ..visit.anonymous()
    };
    let user: User = match visit.state.api.get(&caller, "/api/v1/users/me").await {
        Ok(user) => user,
        Err(e) => return visit.failure(&e, "/admin/login").await,
    };
    let auth = Auth {
        access: tokens.access_token,
        refresh: tokens.refresh_token,
        expires_at: now() + tokens.expires_in,
        name: user.name,
        email: user.email,
        role: user.role,
    };
    if auth.role != "admin" {
        // The tokens just issued are not kept; whatever the session held
        // before (a customer's storefront sign-in) stays as it was.
        revoke(&visit, &auth.refresh).await;
        let mut problem = ApiProblem::bare(403);
        problem.detail = Some(
            "This account is a customer account: the dashboard is only for the shop's admins."
                .into(),
        );
        return shown(StatusCode::FORBIDDEN, problem);
    }
    visit.session.update(|d| {
        d.auth = Some(auth);
        d.admin_seen = now();
        // A fresh secret once privileges change.
        d.csrf = crate::session::random_token();
    });
    Redirect::to(&next).into_response()
}

/// `POST /admin/logout`.
pub async fn logout(admin: Admin, CsrfForm(_): CsrfForm<super::cart::Empty>) -> Response {
    end_session(&admin.visit, &admin.auth).await;
    admin.visit.session.flash(true, "You are signed out.");
    Redirect::to("/admin/login").into_response()
}

fn admin_next(next: Option<&str>) -> &str {
    let next = safe_next(next, "/admin");
    if next.starts_with("/admin") && !next.starts_with("/admin/login") {
        next
    } else {
        "/admin"
    }
}

fn sign_in_chrome(visit: &Visit) -> AdminChrome {
    AdminChrome {
        shop_name: visit.state.settings.shop_name.clone(),
        csrf: visit.session.csrf(),
        flash: visit.session.take_flash(),
        ..AdminChrome::default()
    }
}

/// `GET /admin`: today and this week, what waits, and the saga's health.
pub async fn overview(admin: Admin) -> Response {
    let now = time::OffsetDateTime::now_utc();
    let today = now.replace_time(time::Time::MIDNIGHT);
    let week = today - time::Duration::days(i64::from(today.weekday().number_days_from_monday()));
    let stuck_after = admin.visit.state.settings.reservation_ttl_secs;
    let summary = |from: time::OffsetDateTime| {
        let from = from
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let path = format!(
            "/api/v1/orders/summary?{}",
            super::query(&[
                ("from", from.as_str()),
                ("stuck_after_secs", &stuck_after.to_string())
            ])
        );
        let api = admin.api();
        let caller = &admin.caller;
        async move { api.get::<OrderSummary>(caller, &path).await }
    };
    let low_stock_path = format!("/api/v1/inventory?below={LOW_STOCK}&limit=10");
    let (day, week, low, signals) = tokio::join!(
        summary(today),
        summary(week),
        admin
            .api()
            .get::<Page<Stock>>(&admin.caller, &low_stock_path),
        signals::read(&admin.visit.state, &admin.caller),
    );
    let (day, week, low) = match (day, week, low) {
        (Ok(d), Ok(w), Ok(l)) => (d, w, l),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return admin.failure(&e, "overview");
        }
    };
    view::overview(
        &admin.chrome("overview"),
        &Overview {
            today: &day,
            week: &week,
            low_stock: &low.items,
            more_low_stock: low.next_cursor.is_some(),
            signals: &signals,
            stuck_after_minutes: stuck_after / 60,
        },
    )
    .into_response()
}

/// A key for one submission of a form whose repetition must not act
/// twice (a refund): the form carries it, the API remembers it.
pub fn submission_key() -> String {
    crate::session::random_token()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_session_expires_and_an_active_one_is_kept_fresh() {
        let idle = 1800;
        assert_eq!(idleness(0, 1_000_000, idle), Idle::Refresh, "first page");
        assert_eq!(idleness(1_000_000, 1_000_010, idle), Idle::Fresh);
        assert_eq!(idleness(1_000_000, 1_000_030, idle), Idle::Refresh);
        assert_eq!(
            idleness(1_000_000, 1_001_800, idle),
            Idle::Refresh,
            "at the limit"
        );
        assert_eq!(idleness(1_000_000, 1_001_801, idle), Idle::Expired);
        assert_eq!(idleness(1_000, 1_006, 5), Idle::Expired);
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(duration_words(1800), "30 minutes");
        assert_eq!(duration_words(60), "1 minute");
        assert_eq!(duration_words(7200), "2 hours");
        assert_eq!(duration_words(5), "5 seconds");
    }

    #[test]
    fn only_dashboard_pages_are_returned_to_after_sign_in() {
        assert_eq!(
            admin_next(Some("/admin/orders?status=paid")),
            "/admin/orders?status=paid"
        );
        assert_eq!(admin_next(Some("/account")), "/admin");
        assert_eq!(admin_next(Some("//evil.example/admin")), "/admin");
        assert_eq!(admin_next(Some("/admin/login")), "/admin");
        assert_eq!(admin_next(None), "/admin");
    }
}
