//! The cart service as a module of a Mercato process.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use contracts::clients::{
    cart::CartClient,
    catalog::{CatalogClient, HttpCatalog},
    pricing::{HttpPricing, PricingClient},
};
use runtime::{Context, Module, Periodic};

use crate::{CartConfig, CartService, NAME, client::InProcessCart, events, http, migrator};

/// The path prefixes the service owns.
pub const ROUTES: &[&str] = &["/api/v1/carts"];

/// Opens and migrates the database, reads the catalog and prices carts
/// in-process when they run here (else over HTTP, found through etcd or
/// `cart.catalog_url` / `cart.pricing_url`),
/// and offers the cart in-process (`Arc<dyn CartClient>`) to orders.
pub async fn build(cfg: &CartConfig, ctx: &mut Context) -> anyhow::Result<Module> {
    let db = ctx
        .open_database(NAME, cfg.database_url.as_ref(), migrator)
        .await?;
    let catalog = ctx.peer::<Arc<dyn CatalogClient>>(
        "catalog",
        cfg.catalog_url.clone(),
        "cart.catalog_url",
        |endpoints| {
            let timeout = Duration::from_millis(cfg.catalog_timeout_ms);
            Ok(Arc::new(HttpCatalog::new(endpoints, timeout)?))
        },
    )?;
    let pricing = ctx.peer::<Arc<dyn PricingClient>>(
        "pricing",
        cfg.pricing_url.clone(),
        "cart.pricing_url",
        |endpoints| {
            let timeout = Duration::from_millis(cfg.pricing_timeout_ms);
            Ok(Arc::new(HttpPricing::new(endpoints, timeout)?))
        },
    )?;
    let service = Arc::new(CartService::new(db.clone(), cfg.clone(), catalog, pricing));
    let client: Arc<dyn CartClient> = Arc::new(InProcessCart(service.clone()));
    ctx.offer(client);
    let verifier = ctx.verifier(NAME)?;
    let janitor = service.clone();
    Ok(Module::new(NAME, ROUTES, db)
        .subscribe(
            events::subscription(),
            Arc::new(events::PriceUpdates(service.clone())),
        )
        .subscribe(
            events::orders_subscription(),
            Arc::new(events::CheckedOut(service.clone())),
        )
        .periodic(
            "janitor",
            Periodic::every(Duration::from_secs(3600)),
            move || {
                let service = janitor.clone();
                async move {
                    let n = service.expire_idle().await.context("deleting idle carts")?;
                    if n > 0 {
                        tracing::info!(carts = n, "deleted idle carts");
                    }
                    Ok(())
                }
            },
        )
        .routes(http::router(http::CartState { service, verifier })))
}
