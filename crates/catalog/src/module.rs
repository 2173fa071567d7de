//! The catalog service as a module of a Mercato process.

use std::sync::Arc;

use anyhow::Context as _;
use contracts::clients::catalog::CatalogClient;
use runtime::{Context, Module, Periodic};

use crate::{
    CatalogConfig, CatalogService, NAME, client::InProcessCatalog, events, http, migrator, seed,
};

/// The path prefixes the service owns.
pub const ROUTES: &[&str] = &[
    "/api/v1/categories",
    "/api/v1/products",
    "/api/v1/variants",
    "/api/v1/inventory",
];

/// Opens and migrates the database, seeds the demo catalog in the
/// all-in-one server, and offers the catalog in-process
/// (`Arc<dyn CatalogClient>`) to the cart.
pub async fn build(cfg: &CatalogConfig, ctx: &mut Context) -> anyhow::Result<Module> {
    let db = ctx
        .open_database(NAME, cfg.database_url.as_ref(), migrator)
        .await?;
    let service = Arc::new(CatalogService::new(db.clone(), cfg.clone()));
    // The all-in-one server opens on a shop with something in it.
    if ctx.all_in_one && cfg.demo_products > 0 && service.product_count().await? == 0 {
        let created = seed::seed(&service, cfg.demo_products).await?;
        tracing::info!(
            products = created,
            "created the demo catalog (catalog.demo_products = 0 disables it)"
        );
    }
    let client: Arc<dyn CatalogClient> = Arc::new(InProcessCatalog(service.clone()));
    ctx.offer(client);
    let verifier = ctx.verifier(NAME)?;
    let expiry = service.clone();
    let listening = service.clone();
    Ok(Module::new(NAME, ROUTES, db)
        .outbox(service.outbox())
        .subscribe(
            events::subscription(),
            Arc::new(events::OrderEvents(service.clone())),
        )
        .periodic(
            "reservation-expiry",
            Periodic::every(service.expiry_sweep_interval()),
            move || {
                let service = expiry.clone();
                async move {
                    let n = service
                        .expire_reservations()
                        .await
                        .context("releasing expired reservations")?;
                    if n > 0 {
                        tracing::info!(orders = n, "released expired reservations");
                    }
                    Ok(())
                }
            },
        )
        .task("change-listener", move |stop| {
            crate::service::changes::run_change_listener(listening, stop)
        })
        .routes(http::router(http::CatalogState { service, verifier })))
}
