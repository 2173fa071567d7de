//! The orders service as a module of a Mercato process.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use contracts::{
    checkout::OfferedPaymentProviders,
    clients::{
        cart::{CartClient, HttpCart},
        pricing::{HttpPricing, PricingClient},
    },
};
use runtime::{Context, Module, Periodic};

use crate::{NAME, OrdersConfig, OrdersService, events, http, migrator};

/// The path prefixes the service owns.
pub const ROUTES: &[&str] = &["/api/v1/orders"];

/// Opens and migrates the database, reads carts and prices orders
/// in-process when cart and pricing run here (else over HTTP, found through
/// etcd or `orders.cart_url` / `orders.pricing_url`).
/// Offers its payment providers, which payments checks it has enabled.
pub async fn build(cfg: &OrdersConfig, ctx: &mut Context) -> anyhow::Result<Module> {
    let db = ctx
        .open_database(NAME, cfg.database_url.as_ref(), migrator)
        .await?;
    let cart = ctx.peer::<Arc<dyn CartClient>>(
        "cart",
        cfg.cart_url.clone(),
        "orders.cart_url",
        |endpoints| {
            let timeout = Duration::from_millis(cfg.cart_timeout_ms);
            Ok(Arc::new(HttpCart::new(endpoints, timeout)?))
        },
    )?;
    let pricing = ctx.peer::<Arc<dyn PricingClient>>(
        "pricing",
        cfg.pricing_url.clone(),
        "orders.pricing_url",
        |endpoints| {
            let timeout = Duration::from_millis(cfg.pricing_timeout_ms);
            Ok(Arc::new(HttpPricing::new(endpoints, timeout)?))
        },
    )?;
    let service = Arc::new(OrdersService::new(
        db.clone(),
        cfg.clone(),
        cart,
        pricing,
        platform::idempotency::in_flight_lease(Duration::from_secs(ctx.http.request_timeout_secs)),
    ));
    ctx.offer(OfferedPaymentProviders(cfg.payment_providers.clone()));
    let verifier = ctx.verifier(NAME)?;
    let watched = service.clone();
    Ok(Module::new(NAME, ROUTES, db)
        .outbox(service.outbox())
        .subscribe(
            events::subscription(),
            Arc::new(events::SagaEvents(service.clone())),
        )
        .idempotency_janitor()
        .periodic(
            "saga-watch",
            Periodic::every(Duration::from_secs(15)),
            move || {
                let service = watched.clone();
                async move {
                    service
                        .watch_awaiting_payment()
                        .await
                        .context("measuring the orders awaiting payment")
                }
            },
        )
        .routes(http::router(http::OrdersState { service, verifier })))
}
