//! Assembly of the Mercato process: configuration, the modules of the
//! services selected by `--target`, one HTTP listener, the supervisor of
//! every background task, and shutdown. `main.rs` is only the CLI.

pub mod config;
mod registry;
pub mod targets;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use eventbus::{EventBus, EventBusConfig, outbox::Outbox};
use platform::{
    db::Db,
    http::server::{self, ReadinessCheck},
};
use runtime::{Context, Supervisor, Task};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::registry::Registry;
pub use crate::{config::Config, targets::Target};
pub use runtime::{MigratorFor, open_database};

/// A built process: its router, its bus, and the modules' outboxes, tasks
/// and databases.
pub struct App {
    router: axum::Router,
    databases: Vec<Db>,
    bus: Arc<dyn EventBus>,
    outboxes: Vec<(&'static str, Arc<Outbox>)>,
    tasks: Vec<Task>,
    stop: CancellationToken,
    eventbus: EventBusConfig,
    registry: Option<Registry>,
}

impl App {
    /// Builds the module of every selected service, in dependency order
    /// (a module finds what those before it offer in-process), subscribes
    /// their consumers and merges their routes.
    pub async fn build(cfg: &Config, targets: &[Target]) -> anyhow::Result<Self> {
        if cfg.telemetry.metrics {
            platform::metrics::install();
        }
        let bus = eventbus::bus::connect(&cfg.eventbus)
            .await
            .context("connecting the event bus")?;
        tracing::info!(bus = bus.kind(), "event bus ready");
        let etcd = cfg
            .discovery
            .etcd_url
            .as_deref()
            .map(platform::discovery::Etcd::new)
            .transpose()?;
        let mut ctx = Context::new(
            bus.clone(),
            etcd.clone(),
            cfg.database.clone(),
            cfg.auth.clone(),
            cfg.http.clone(),
            Target::SERVICES.iter().all(|t| targets.contains(t)),
        );
        // Stops consumers, relays and tasks once the HTTP drain is over.
        let stop = CancellationToken::new();
        let mut modules = Vec::new();
        for target in Target::SERVICES.iter().filter(|t| targets.contains(t)) {
            let Some(mut module) = target.build(cfg, &mut ctx).await? else {
                continue;
            };
            for (subscription, handler) in std::mem::take(&mut module.subscriptions) {
                let id = subscription.id();
                bus.subscribe(subscription, handler, stop.clone())
                    .await
                    .with_context(|| format!("subscribing {id}"))?;
            }
            modules.push(module);
        }
        let storefront = targets.contains(&Target::Web);
        let in_process = Target::SERVICES.iter().all(|t| targets.contains(t));
        Self::assemble(
            cfg,
            bus,
            etcd,
            modules,
            stop,
            storefront.then_some(in_process),
        )
    }

    /// One process of the built modules: their routes and documents merged
    /// with the operational routes (and the edge when registered), their
    /// outboxes, tasks, checks and databases collected; with the
    /// storefront (`Some(in_process)`), its pages over the API, called in
    /// this process when it runs every service, else through `web.api_url`.
    fn assemble(
        cfg: &Config,
        bus: Arc<dyn EventBus>,
        etcd: Option<platform::discovery::Etcd>,
        modules: Vec<runtime::Module>,
        stop: CancellationToken,
        storefront: Option<bool>,
    ) -> anyhow::Result<Self> {
        let mut router = axum::Router::new();
        let mut app = Self {
            router: axum::Router::new(),
            databases: Vec::new(),
            outboxes: Vec::new(),
            tasks: Vec::new(),
            stop,
            eventbus: cfg.eventbus.clone(),
            registry: None,
            bus: bus.clone(),
        };
        let mut openapi: Option<utoipa::openapi::OpenApi> = None;
        let mut checks = vec![bus_check(&bus)];
        let mut services = Vec::new();
        for module in modules {
            router = router.merge(module.router);
            openapi = Some(match openapi {
                Some(mut api) => {
                    api.merge(module.openapi);
                    api
                }
                None => module.openapi,
            });
            app.outboxes
                .extend(module.outbox.map(|outbox| (module.name, outbox)));
            app.tasks.extend(module.tasks);
            checks.extend(module.checks);
            app.databases.push(module.db);
            services.push((module.name, module.route_prefixes));
        }
        if storefront.is_some() {
            services.push((web::NAME, web::ROUTES));
        }
        app.registry = etcd.clone().map(|etcd| Registry {
            etcd,
            cfg: cfg.discovery.clone(),
            services,
            status: platform::discovery::RegistryStatus::default(),
        });
        checks.extend(app.registry.as_ref().map(registry_check));
        router = router.merge(server::ops_router(checks, openapi.unwrap_or_default()));
        if let Some(etcd) = etcd {
            // Registered, this process is one of the gateway's edge servers.
            let services = Target::SERVICES
                .iter()
                .map(|t| t.name().to_owned())
                .collect();
            router = router.merge(platform::http::edge::router(
                platform::http::edge::EdgeState::new(etcd, services)?,
            ));
        }
        let api = platform::http::layers::apply(router, &cfg.http);
        app.router = match storefront {
            None => api,
            Some(in_process) => {
                let backend = if in_process {
                    web::Backend::InProcess(api.clone())
                } else {
                    let url = cfg.web.api_url.as_deref().ok_or_else(|| {
                        anyhow::anyhow!(
                            "web.api_url must name the API (the gateway) when the storefront runs without every service"
                        )
                    })?;
                    web::Backend::http(url, Duration::from_millis(cfg.web.api_timeout_ms))?
                };
                let facts = web::ShopFacts {
                    payment_providers: cfg.orders.payment_providers.clone(),
                    currency: cfg.cart.default_currency.clone(),
                    reservation_ttl_secs: cfg.catalog.reservation_ttl_secs,
                };
                let pages = web::router(&cfg.web, facts, backend)?;
                api.merge(platform::http::layers::apply(pages, &cfg.http))
            }
        };
        Ok(app)
    }

    /// The event bus, for subscribing before serving (and for tests).
    pub fn bus(&self) -> Arc<dyn EventBus> {
        self.bus.clone()
    }

    /// The full router, for tests that serve it themselves.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Serves on `listener`, relays the outboxes and runs the modules'
    /// tasks until `shutdown` is cancelled; then drains requests, stops the
    /// relays and tasks, closes pools. A task that ends on its own (or
    /// panics) stops the process too, with an error naming it.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
        grace: Duration,
    ) -> anyhow::Result<()> {
        // Cancelled by the caller, or by a task's death.
        let drain = shutdown.child_token();
        let mut supervisor = Supervisor::new(drain.clone());
        // Relays and tasks outlive the HTTP drain, so that requests
        // finishing during it still get their events out.
        for (service, outbox) in &self.outboxes {
            supervisor.spawn(
                format!("{service}.outbox-relay"),
                eventbus::outbox::run_relay(
                    outbox.clone(),
                    self.bus.clone(),
                    self.eventbus.clone(),
                    self.stop.clone(),
                ),
            );
        }
        for task in self.tasks {
            supervisor.spawn(task.name, (task.run)(self.stop.clone()));
        }
        if let Some(registry) = self.registry {
            // Leaves the registry when the drain starts, so the gateway
            // sends nothing new to an instance that is going away.
            let registrations = registry.registrations(listener.local_addr()?).await?;
            supervisor.spawn(
                "discovery.registration",
                platform::discovery::run_registration(
                    registry.etcd,
                    registrations,
                    registry.cfg.lease_ttl_secs,
                    registry.status,
                    drain.clone(),
                ),
            );
        }
        let serving = server::serve(listener, self.router, drain.clone(), grace);
        tokio::pin!(serving);
        let result = tokio::select! {
            result = &mut serving => result,
            died = supervisor.died() => {
                tracing::error!(task = %died.task, reason = %died.reason, "a background task stopped; the process stops");
                drain.cancel();
                let _ = serving.await;
                Err(anyhow::anyhow!("{died}"))
            }
        };
        self.stop.cancel();
        supervisor.join_all().await;
        for db in &self.databases {
            db.close().await;
        }
        result
    }
}

fn registry_check(registry: &Registry) -> ReadinessCheck {
    let status = registry.status.clone();
    ReadinessCheck {
        name: "registry.etcd".into(),
        probe: Arc::new(move || {
            let up = status.is_registered();
            Box::pin(async move { up })
        }),
        // Requests are served without it; the gateway keeps the last
        // routes it saw.
        critical: false,
    }
}

fn bus_check(bus: &Arc<dyn EventBus>) -> ReadinessCheck {
    let bus = bus.clone();
    ReadinessCheck {
        name: format!("eventbus.{}", bus.kind()),
        probe: Arc::new(move || {
            let bus = bus.clone();
            Box::pin(async move { bus.is_ready().await })
        }),
        // Reported, but not a 503: writes wait in the outboxes while the
        // bus is away, so the instance can still serve, and a gateway or
        // orchestrator acting on readiness would otherwise take the whole
        // shop down for a broker restart.
        critical: false,
    }
}
