//! What a service hands the process that runs it.

use std::sync::Arc;

use eventbus::{Handler, Subscription, outbox::Outbox};
use futures::future::BoxFuture;
use platform::{db::Db, http::server::ReadinessCheck};
use tokio_util::sync::CancellationToken;

use crate::Periodic;

/// A named background task: started when the process serves, given the
/// token that stops it after the HTTP drain, run under the supervisor.
pub struct Task {
    /// `<service>.<task>`, for logs and the supervisor's report.
    pub name: String,
    /// Runs until the token is cancelled; returning earlier is a failure.
    pub run: Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// One service, assembled: everything the process needs to run it.
pub struct Module {
    /// The service's name (its schema, its target, its log field).
    pub name: &'static str,
    /// The path prefixes it owns; the gateway routes by them.
    pub route_prefixes: &'static [&'static str],
    /// Its HTTP routes.
    pub router: axum::Router,
    /// Their OpenAPI document.
    pub openapi: utoipa::openapi::OpenApi,
    /// Event deliveries it consumes, each with its handler.
    pub subscriptions: Vec<(Subscription, Arc<dyn Handler>)>,
    /// Its outbox, relayed to the bus while the process runs.
    pub outbox: Option<Arc<Outbox>>,
    /// Its background tasks.
    pub tasks: Vec<Task>,
    /// What `/health/ready` asks about it (its database at least).
    pub checks: Vec<ReadinessCheck>,
    /// Its database, closed when the process ends.
    pub db: Db,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

impl Module {
    /// A module of `name` on `db`, whose readiness includes the database.
    pub fn new(name: &'static str, route_prefixes: &'static [&'static str], db: Db) -> Self {
        Self {
            name,
            route_prefixes,
            router: axum::Router::new(),
            openapi: utoipa::openapi::OpenApi::default(),
            subscriptions: Vec::new(),
            outbox: None,
            tasks: Vec::new(),
            checks: vec![database_check(name, &db)],
            db,
        }
        .pool_gauges()
    }

    /// Publishes the database pool's use every 5 seconds:
    /// `db_pool_connections{service, state="in_use"|"idle"}`,
    /// `db_pool_max_connections{service}` and the write transactions
    /// waiting to begin, `db_pool_waiting{service}` (how long each waited
    /// is `db_write_wait_seconds`, recorded by the pool itself).
    fn pool_gauges(self) -> Self {
        let (db, service) = (self.db.clone(), self.name);
        self.periodic(
            "db-pool",
            Periodic::every(std::time::Duration::from_secs(5)),
            move || {
                let usage = db.pool_usage();
                metrics::gauge!("db_pool_connections", "service" => service, "state" => "in_use")
                    .set(f64::from(usage.in_use));
                metrics::gauge!("db_pool_connections", "service" => service, "state" => "idle")
                    .set(f64::from(usage.idle));
                metrics::gauge!("db_pool_max_connections", "service" => service)
                    .set(f64::from(usage.max));
                metrics::gauge!("db_pool_waiting", "service" => service).set(usage.waiting as f64);
                std::future::ready(Ok(()))
            },
        )
    }

    /// Its routes and their document.
    #[must_use]
    pub fn routes(mut self, (router, openapi): (axum::Router, utoipa::openapi::OpenApi)) -> Self {
        self.router = router;
        self.openapi = openapi;
        self
    }

    /// Consumes `subscription` with `handler`.
    #[must_use]
    pub fn subscribe(mut self, subscription: Subscription, handler: Arc<dyn Handler>) -> Self {
        self.subscriptions.push((subscription, handler));
        self
    }

    /// Relays `outbox` while the process runs.
    #[must_use]
    pub fn outbox(mut self, outbox: Arc<Outbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Runs `run` in the background, as `<service>.<name>`.
    #[must_use]
    pub fn task<F>(
        mut self,
        name: &str,
        run: impl FnOnce(CancellationToken) -> F + Send + 'static,
    ) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(Task {
            name: format!("{}.{name}", self.name),
            run: Box::new(move |stop| Box::pin(run(stop))),
        });
        self
    }

    /// Runs `job` on the schedule `periodic` gives, as `<service>.<name>`.
    #[must_use]
    pub fn periodic<J, F>(self, name: &str, periodic: Periodic, job: J) -> Self
    where
        J: FnMut() -> F + Send + 'static,
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let task = format!("{}.{name}", self.name);
        self.task(name, move |stop| periodic.run(task, job, stop))
    }

    /// Forgets the service's idempotency keys past their 24 hours, hourly.
    #[must_use]
    pub fn idempotency_janitor(self) -> Self {
        let db = self.db.clone();
        self.periodic(
            "idempotency-janitor",
            Periodic::every(std::time::Duration::from_secs(3600)),
            move || {
                let db = db.clone();
                async move {
                    let n = platform::idempotency::prune(&db, platform::time::now_millis()).await?;
                    if n > 0 {
                        tracing::info!(keys = n, "forgot expired idempotency keys");
                    }
                    Ok(())
                }
            },
        )
    }
}

fn database_check(name: &str, db: &Db) -> ReadinessCheck {
    let db = db.clone();
    ReadinessCheck {
        name: format!("{name}.database"),
        probe: Arc::new(move || {
            let db = db.clone();
            Box::pin(async move { db.ping().await })
        }),
        critical: true,
    }
}
