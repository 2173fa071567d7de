//! The storefront: the shop's pages, rendered on the server from the
//! public API. It owns no business data; everything it shows or changes
//! goes through the API with the visitor's token (see [`api`]), and the
//! visitor's state lives in one sealed cookie (see [`session`]).

pub mod api;
mod assets;
mod config;
pub mod models;
mod money;
mod pages;
mod session;
mod views;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    routing::{get, post},
};
use base64::Engine as _;
use secrecy::ExposeSecret as _;

pub use crate::{
    api::{Api, Backend},
    config::WebConfig,
};

/// The service's name (its target, its log field).
pub const NAME: &str = "web";

/// What the gateway routes to the storefront: every path no API service
/// owns (Traefik prefers the longer rules of the services).
pub const ROUTES: &[&str] = &["/"];

/// Paths that belong to the API and the operations endpoints: an unknown
/// one is a problem+json 404, never a page.
pub fn is_api_path(path: &str) -> bool {
    const PREFIXES: &[&str] = &["/api/", "/health/", "/.well-known/", "/docs/", "/_edge/"];
    const EXACT: &[&str] = &["/api", "/health", "/metrics", "/openapi.json", "/docs"];
    EXACT.contains(&path) || PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Settings every page reads.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub shop_name: String,
    pub payment_providers: Vec<String>,
    pub stripe_publishable_key: String,
    pub stripe_js_url: String,
    pub featured_products: usize,
    pub currency: String,
    pub admin_idle_secs: u64,
    pub prometheus_url: Option<String>,
    /// An order awaiting payment longer than this is stuck (the catalog's
    /// reservation time).
    pub reservation_ttl_secs: u64,
}

/// What the storefront must know of the shop it fronts.
#[derive(Debug, Clone)]
pub struct ShopFacts {
    /// Providers the orders service accepts, in the order offered.
    pub payment_providers: Vec<String>,
    /// The currency of new carts (prices typed into filters are in it).
    pub currency: String,
    /// How long the catalog holds stock for an unpaid order, in seconds.
    pub reservation_ttl_secs: u64,
}

/// What handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub api: Api,
    pub settings: Arc<Settings>,
    pub refresher: Arc<pages::Refresher>,
    pub categories: Arc<pages::CategoryCache>,
}

/// The storefront's routes, calling the API through `backend`.
pub fn router(cfg: &WebConfig, facts: ShopFacts, backend: Backend) -> anyhow::Result<Router> {
    let key = match cfg
        .session_key
        .as_ref()
        .filter(|k| !k.expose_secret().trim().is_empty())
    {
        Some(key) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.expose_secret().trim())
                .map_err(|_| anyhow::anyhow!("web.session_key must be base64 of 32 bytes"))?;
            session::SessionKey::new(&bytes)?
        }
        None => {
            tracing::warn!(
                "web.session_key is not set: sessions end when this process does, and replicas do not share them"
            );
            session::SessionKey::random()?
        }
    };
    let state = AppState {
        api: Api::new(backend),
        settings: Arc::new(Settings {
            shop_name: cfg.shop_name.clone(),
            payment_providers: facts.payment_providers,
            currency: facts.currency,
            stripe_publishable_key: cfg.stripe_publishable_key.clone(),
            stripe_js_url: cfg.stripe_js_url.clone(),
            featured_products: cfg.featured_products,
            admin_idle_secs: cfg.admin_idle_secs,
            prometheus_url: cfg.prometheus_url.clone().filter(|u| !u.trim().is_empty()),
            reservation_ttl_secs: facts.reservation_ttl_secs,
        }),
        refresher: Arc::new(pages::Refresher::default()),
        categories: Arc::new(pages::CategoryCache::new(Duration::from_secs(
            cfg.category_cache_secs,
        ))),
    };
    let session = session::SessionSettings {
        key: Arc::new(key),
        always_secure: cfg.secure_cookies,
    };
    let pages = Router::new()
        .route("/", get(pages::shop::home))
        .route("/c/{slug}", get(pages::shop::category))
        .route("/search", get(pages::shop::search))
        .route("/p/{slug}", get(pages::shop::product))
        .route("/cart", get(pages::cart::show))
        .route("/cart/items", post(pages::cart::add))
        .route("/cart/items/{item}", post(pages::cart::update))
        .route("/cart/items/{item}/remove", post(pages::cart::remove))
        .route("/cart/promotions", post(pages::cart::apply_code))
        .route("/cart/promotions/remove", post(pages::cart::remove_code))
        .route(
            "/checkout",
            get(pages::checkout::form).post(pages::checkout::place),
        )
        .route(
            "/orders/{id}/pay",
            get(pages::checkout::payment).post(pages::checkout::pay),
        )
        .route("/orders/{id}/retry", post(pages::checkout::retry))
        .route("/orders/{id}", get(pages::checkout::order))
        .route("/orders/{id}/status", get(pages::checkout::status))
        .route(
            "/checkout/paypal/return",
            get(pages::checkout::paypal_return),
        )
        .route(
            "/checkout/paypal/cancel",
            get(pages::checkout::paypal_cancel),
        )
        .route(
            "/account/login",
            get(pages::account::login_form).post(pages::account::login),
        )
        .route(
            "/account/register",
            get(pages::account::register_form).post(pages::account::register),
        )
        .route("/account/logout", post(pages::account::logout))
        .route(
            "/account/password-reset",
            get(pages::account::reset_request_form).post(pages::account::reset_request),
        )
        .route(
            "/reset-password",
            get(pages::account::reset_form).post(pages::account::reset),
        )
        .route(
            "/verify-email",
            get(pages::account::verify_form).post(pages::account::verify),
        )
        .route(
            "/account",
            get(pages::account::profile).post(pages::account::update_profile),
        )
        .route(
            "/account/verification",
            post(pages::account::resend_verification),
        )
        .route(
            "/account/addresses",
            get(pages::account::addresses).post(pages::account::add_address),
        )
        .route(
            "/account/addresses/{id}/delete",
            post(pages::account::delete_address),
        )
        .route("/account/orders", get(pages::account::orders))
        .route(
            "/account/preferences",
            get(pages::account::preferences).post(pages::account::update_preferences),
        )
        .merge(admin_routes())
        .fallback(pages::fallback)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            session,
            session::layer,
        ))
        .layer(axum::middleware::from_fn(pages::security_headers));
    // Static files need no session (and must not set a cookie: they are
    // cached by everyone).
    let files = Router::new()
        .route("/static/{version}/{file}", get(assets::asset))
        .route("/media/demo/{slug}/{file}", get(assets::demo_image));
    Ok(pages.merge(files))
}

/// The admin dashboard's pages.
fn admin_routes() -> Router<AppState> {
    use pages::admin::{self, catalog, customers, inventory, orders};
    Router::new()
        .route("/admin", get(admin::overview))
        .route("/admin/login", get(admin::login_form).post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route(
            "/admin/products",
            get(catalog::products).post(catalog::create_product),
        )
        .route("/admin/products/new", get(catalog::new_product))
        .route(
            "/admin/products/{id}",
            get(catalog::edit_product).post(catalog::update_product),
        )
        .route(
            "/admin/products/{id}/archive",
            get(catalog::archive_confirm).post(catalog::archive),
        )
        .route(
            "/admin/categories",
            get(catalog::category_tree).post(catalog::create_category),
        )
        .route(
            "/admin/categories/{id}",
            get(catalog::edit_category).post(catalog::update_category),
        )
        .route(
            "/admin/categories/{id}/delete",
            get(catalog::delete_category_confirm).post(catalog::delete_category),
        )
        .route("/admin/inventory", get(inventory::levels))
        .route("/admin/inventory/{sku}", get(inventory::sku))
        .route(
            "/admin/inventory/{sku}/adjustments",
            post(inventory::adjust),
        )
        .route("/admin/orders", get(orders::list))
        .route("/admin/orders/{id}", get(orders::show))
        .route(
            "/admin/orders/{id}/{action}",
            get(orders::confirm).post(orders::act),
        )
        .route("/admin/customers", get(customers::list))
        .route("/admin/customers/{id}", get(customers::show))
        .route(
            "/admin/customers/{id}/access",
            get(customers::access_confirm).post(customers::access),
        )
        .route("/admin/notifications", get(customers::notifications))
}

/// HTML + CSS + JS bytes of the storefront's own assets, for reports.
pub fn asset_weight() -> (usize, usize) {
    assets::weight()
}
