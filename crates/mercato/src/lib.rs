//! Assembly of the Mercato process: configuration, the services selected
//! by `--target`, one HTTP listener, and shutdown. `main.rs` is only the CLI.

pub mod config;
pub mod targets;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use platform::{
    auth::{KeySource, Verifier},
    db::Db,
    http::server::{self, ReadinessCheck},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::{config::Config, targets::Target};

/// A built process: its router and what must be closed at the end.
pub struct App {
    router: axum::Router,
    databases: Vec<Db>,
}

impl App {
    /// Connects, migrates and wires every selected service.
    pub async fn build(cfg: &Config, targets: &[Target]) -> anyhow::Result<Self> {
        platform::metrics::install();
        let mut router = axum::Router::new();
        let mut openapi: Option<utoipa::openapi::OpenApi> = None;
        let mut checks = Vec::new();
        let mut databases = Vec::new();

        if targets.contains(&Target::Users) {
            let db = open_database(
                users::NAME,
                cfg.users.database_url.as_ref(),
                cfg,
                &users::MIGRATOR,
            )
            .await?;
            let service =
                Arc::new(users::UsersService::new(db.clone(), cfg.users.clone(), &cfg.auth).await?);
            service.bootstrap_admin().await?;
            // In-process keys: no JWKS round trip when users runs here.
            let keys: Arc<dyn KeySource> = service.keys();
            let verifier = Verifier::new(&cfg.auth.issuer, &cfg.auth.audience, keys);
            let (routes, api) = users::http::router(users::http::UsersState { service, verifier });
            router = router.merge(routes);
            openapi = Some(merge_openapi(openapi, api));
            checks.push(database_check(users::NAME, &db));
            databases.push(db);
        }
        let openapi = openapi.unwrap_or_default();
        let router = router.merge(server::ops_router(checks, openapi));
        Ok(Self {
            router: platform::http::layers::apply(router, &cfg.http),
            databases,
        })
    }

    /// The full router, for tests that serve it themselves.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` is cancelled, drains, closes pools.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
        grace: Duration,
    ) -> anyhow::Result<()> {
        let result = server::serve(listener, self.router, shutdown, grace).await;
        for db in &self.databases {
            db.close().await;
        }
        result
    }
}

/// Opens a service's database and, if configured, migrates it.
pub async fn open_database(
    name: &str,
    own_url: Option<&secrecy::SecretString>,
    cfg: &Config,
    migrator: &sqlx::migrate::Migrator,
) -> anyhow::Result<Db> {
    let db = Db::connect(name, own_url, &cfg.database)
        .await
        .with_context(|| format!("opening the {name} database"))?;
    if cfg.database.migrate_on_start {
        db.migrate(migrator)
            .await
            .with_context(|| format!("migrating the {name} database"))?;
    }
    Ok(db)
}

fn database_check(name: &str, db: &Db) -> ReadinessCheck {
    let db = db.clone();
    ReadinessCheck {
        name: format!("{name}.database"),
        probe: Arc::new(move || {
            let db = db.clone();
            Box::pin(async move { db.ping().await })
        }),
    }
}

fn merge_openapi(
    into: Option<utoipa::openapi::OpenApi>,
    other: utoipa::openapi::OpenApi,
) -> utoipa::openapi::OpenApi {
    match into {
        Some(mut api) => {
            api.merge(other);
            api
        }
        None => other,
    }
}
