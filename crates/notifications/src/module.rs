//! The notifications service as a module of a Mercato process.

use std::sync::Arc;

use anyhow::Context as _;
use runtime::{Context, Module, Periodic};

use crate::{
    NAME, NotificationsConfig, NotificationsService, channels, events, http, migrator,
    templates::Templates,
};

/// The path prefixes the service owns.
pub const ROUTES: &[&str] = &["/api/v1/notifications"];

/// Opens and migrates the database, loads the templates and sets up the
/// channels; its dispatcher sends each recorded delivery at once and
/// retries those that come due.
pub async fn build(cfg: &NotificationsConfig, ctx: &mut Context) -> anyhow::Result<Module> {
    let db = ctx
        .open_database(NAME, cfg.database_url.as_ref(), migrator)
        .await?;
    let templates = Templates::load(cfg.templates_dir.clone())?;
    let channels = channels(cfg, &ctx.database.data_dir)?;
    let service = Arc::new(NotificationsService::new(
        db.clone(),
        cfg.clone(),
        templates,
        channels,
    ));
    let verifier = ctx.verifier(NAME)?;
    let dispatcher = service.clone();
    Ok(Module::new(NAME, ROUTES, db)
        .subscribe(
            events::subscription(),
            Arc::new(events::Notify(service.clone())),
        )
        .periodic(
            "dispatcher",
            Periodic::every(service.dispatch_interval()).woken_by(service.wake()),
            move || {
                let service = dispatcher.clone();
                async move {
                    service
                        .dispatch_due()
                        .await
                        .context("dispatching notifications")?;
                    Ok(())
                }
            },
        )
        .routes(http::router(http::NotificationsState { service, verifier })))
}
