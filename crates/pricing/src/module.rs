//! The pricing service as a module of a Mercato process.

use std::{sync::Arc, time::Duration};

use contracts::clients::pricing::PricingClient;
use runtime::{Context, Module};

use crate::{
    NAME, PricingConfig, PricingService, client::InProcessPricing, events, http, migrator,
    tax::RateTable,
};

/// The path prefixes the service owns.
pub const ROUTES: &[&str] = &[
    "/api/v1/shipping-options",
    "/api/v1/tax-rates",
    "/api/v1/promotions",
    "/api/v1/quotes",
];

/// Opens and migrates the database, takes tax rates from its own table, and
/// offers quotes in-process (`Arc<dyn PricingClient>`) to cart and orders.
pub async fn build(cfg: &PricingConfig, ctx: &mut Context) -> anyhow::Result<Module> {
    let db = ctx
        .open_database(NAME, cfg.database_url.as_ref(), migrator)
        .await?;
    let service = Arc::new(PricingService::new(
        db.clone(),
        Arc::new(RateTable(db.clone())),
        Duration::from_millis(cfg.tax_timeout_ms),
    ));
    let client: Arc<dyn PricingClient> = Arc::new(InProcessPricing(service.clone()));
    ctx.offer(client);
    let verifier = ctx.verifier(NAME)?;
    Ok(Module::new(NAME, ROUTES, db)
        .subscribe(
            events::subscription(),
            Arc::new(events::Uses(service.clone())),
        )
        .routes(http::router(http::PricingState { service, verifier })))
}
