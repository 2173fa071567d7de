//! The users service as a module of a Mercato process.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use platform::auth::{KeySource, Verifier};
use runtime::{Context, Module, Periodic};

use crate::{NAME, UsersConfig, UsersService, http, migrator};

/// The path prefixes the service owns.
pub const ROUTES: &[&str] = &["/api/v1/auth", "/api/v1/users", "/.well-known/jwks.json"];

/// Opens and migrates the database, makes sure the bootstrap admin exists,
/// and offers the signing keys in-process (`Arc<dyn KeySource>`), so the
/// services built after it check tokens without a JWKS round trip.
pub async fn build(cfg: &UsersConfig, ctx: &mut Context) -> anyhow::Result<Module> {
    let db = ctx
        .open_database(NAME, cfg.database_url.as_ref(), migrator)
        .await?;
    let service = Arc::new(UsersService::new(db.clone(), cfg.clone(), &ctx.auth).await?);
    service.bootstrap_admin().await?;
    service.bootstrap_demo_customer().await?;
    let keys: Arc<dyn KeySource> = service.keys();
    ctx.offer(keys.clone());
    let verifier = Verifier::new(&ctx.auth.issuer, &ctx.auth.audience, keys);
    let janitor = service.clone();
    Ok(Module::new(NAME, ROUTES, db)
        .outbox(service.outbox())
        .routes(http::router(http::UsersState { service, verifier }))
        .periodic(
            "janitor",
            Periodic::every(Duration::from_secs(600)),
            move || {
                let service = janitor.clone();
                async move {
                    let n = service.prune().await.context("pruning the users tables")?;
                    if n > 0 {
                        tracing::debug!(rows = n, "pruned stale login failures and tokens");
                    }
                    Ok(())
                }
            },
        ))
}
