//! The payments service as a module of a Mercato process.

use std::sync::Arc;

use anyhow::Context as _;
use contracts::checkout::{OfferedPaymentProviders, Provider};
use runtime::{Context, FirstRun, Module, Periodic};

use crate::{NAME, PaymentsConfig, PaymentsService, events, http, migrator};

/// The path prefixes the service owns.
pub const ROUTES: &[&str] = &["/api/v1/payments", "/api/v1/webhooks"];

/// Opens and migrates the database and sets up the enabled providers;
/// refuses to start if orders, in this process, offers one that is not.
pub async fn build(cfg: &PaymentsConfig, ctx: &mut Context) -> anyhow::Result<Module> {
    let db = ctx
        .open_database(NAME, cfg.database_url.as_ref(), migrator)
        .await?;
    let service = Arc::new(PaymentsService::new(db.clone(), cfg)?);
    if let Some(OfferedPaymentProviders(offered)) = ctx.offered::<OfferedPaymentProviders>() {
        for provider in &offered {
            anyhow::ensure!(
                Provider::parse(provider).is_some_and(|p| service.providers().contains(&p)),
                "orders.payment_providers offers `{provider}`, which payments has not enabled"
            );
        }
    }
    let verifier = ctx.verifier(NAME)?;
    let reopener = service.clone();
    Ok(Module::new(NAME, ROUTES, db)
        .outbox(service.outbox())
        .subscribe(
            events::subscription(),
            Arc::new(events::OrderEvents(service.clone())),
        )
        .idempotency_janitor()
        .periodic(
            "reopener",
            Periodic::every(service.reopen_interval()).first(FirstRun::AfterOnePeriod),
            move || {
                let service = reopener.clone();
                async move {
                    service.reopen().await.context("reopening payments")?;
                    Ok(())
                }
            },
        )
        .routes(http::router(http::PaymentsState { service, verifier })))
}
