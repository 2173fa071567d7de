//! Assembly of the Mercato process: configuration, the services selected
//! by `--target`, one HTTP listener, and shutdown. `main.rs` is only the CLI.

pub mod config;
pub mod targets;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use eventbus::{EventBus, EventBusConfig, outbox::Outbox};
use platform::{
    auth::{KeySource, RemoteJwks, Verifier},
    db::{Backend, Db},
    http::server::{self, ReadinessCheck},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::{config::Config, targets::Target};

/// A built process: its router, its bus and outboxes, and what must be
/// closed at the end.
pub struct App {
    router: axum::Router,
    databases: Vec<Db>,
    bus: Arc<dyn EventBus>,
    outboxes: Vec<Arc<Outbox>>,
    background: Vec<BackgroundTask>,
    stop: CancellationToken,
    eventbus: EventBusConfig,
    registry: Option<Registry>,
}

/// This process's registration in etcd.
struct Registry {
    etcd: platform::discovery::Etcd,
    cfg: platform::config::DiscoveryConfig,
    targets: Vec<Target>,
    status: platform::discovery::RegistryStatus,
}

/// A service's periodic job (janitors), started by `serve` and stopped by
/// the token it is given.
pub type BackgroundTask =
    Box<dyn FnOnce(CancellationToken) -> futures::future::BoxFuture<'static, ()> + Send>;

impl App {
    /// Connects, migrates and wires every selected service.
    pub async fn build(cfg: &Config, targets: &[Target]) -> anyhow::Result<Self> {
        platform::metrics::install();
        let bus = eventbus::bus::connect(&cfg.eventbus)
            .await
            .context("connecting the event bus")?;
        tracing::info!(bus = bus.kind(), "event bus ready");
        let mut router = axum::Router::new();
        let mut outboxes = Vec::new();
        let mut background: Vec<BackgroundTask> = Vec::new();
        // Stops consumers, relays and janitors once the HTTP drain is over.
        let stop = CancellationToken::new();
        let mut openapi: Option<utoipa::openapi::OpenApi> = None;
        let mut checks = vec![bus_check(&bus)];
        let mut databases = Vec::new();
        let etcd = cfg
            .discovery
            .etcd_url
            .as_deref()
            .map(platform::discovery::Etcd::new)
            .transpose()?;
        let registry = etcd.clone().map(|etcd| Registry {
            etcd,
            cfg: cfg.discovery.clone(),
            targets: targets.to_vec(),
            status: platform::discovery::RegistryStatus::default(),
        });
        if let Some(registry) = &registry {
            let status = registry.status.clone();
            checks.push(ReadinessCheck {
                name: "registry.etcd".into(),
                probe: Arc::new(move || {
                    let up = status.is_registered();
                    Box::pin(async move { up })
                }),
                // Requests are served without it; the gateway keeps the
                // last routes it saw.
                critical: false,
            });
        }

        let mut local_keys: Option<Arc<dyn KeySource>> = None;
        if targets.contains(&Target::Users) {
            let db = open_database(
                users::NAME,
                cfg.users.database_url.as_ref(),
                cfg,
                users::migrator,
            )
            .await?;
            let service =
                Arc::new(users::UsersService::new(db.clone(), cfg.users.clone(), &cfg.auth).await?);
            service.bootstrap_admin().await?;
            let janitor = service.clone();
            background.push(Box::new(move |stop| {
                Box::pin(users::service::run_janitor(janitor, stop))
            }));
            outboxes.push(service.outbox());
            // In-process keys: no JWKS round trip when users runs here.
            let keys: Arc<dyn KeySource> = service.keys();
            local_keys = Some(keys.clone());
            let verifier = Verifier::new(&cfg.auth.issuer, &cfg.auth.audience, keys);
            let (routes, api) = users::http::router(users::http::UsersState { service, verifier });
            router = router.merge(routes);
            openapi = Some(merge_openapi(openapi, api));
            checks.push(database_check(users::NAME, &db));
            databases.push(db);
        }
        let mut catalog_service: Option<Arc<catalog::CatalogService>> = None;
        if targets.contains(&Target::Catalog) {
            let db = open_database(
                catalog::NAME,
                cfg.catalog.database_url.as_ref(),
                cfg,
                catalog::migrator,
            )
            .await?;
            let service = Arc::new(catalog::CatalogService::new(
                db.clone(),
                cfg.catalog.clone(),
            ));
            // The all-in-one server opens on a shop with something in it.
            if targets == Target::ALL
                && cfg.catalog.demo_products > 0
                && service.product_count().await? == 0
            {
                let created = catalog::seed::seed(&service, cfg.catalog.demo_products).await?;
                tracing::info!(
                    products = created,
                    "created the demo catalog (catalog.demo_products = 0 disables it)"
                );
            }
            outboxes.push(service.outbox());
            catalog_service = Some(service.clone());
            bus.subscribe(
                catalog::events::subscription(),
                Arc::new(catalog::events::OrderEvents(service.clone())),
                stop.clone(),
            )
            .await
            .context("subscribing catalog to order events")?;
            let expiry = service.clone();
            background.push(Box::new(move |stop| {
                Box::pin(catalog::service::run_expiry(expiry, stop))
            }));
            let listening = service.clone();
            background.push(Box::new(move |stop| {
                Box::pin(catalog::service::run_change_listener(listening, stop))
            }));
            let verifier = verifier(cfg, local_keys.as_ref(), "catalog")?;
            let (routes, api) =
                catalog::http::router(catalog::http::CatalogState { service, verifier });
            router = router.merge(routes);
            openapi = Some(merge_openapi(openapi, api));
            checks.push(database_check(catalog::NAME, &db));
            databases.push(db);
        }
        let mut cart_service: Option<Arc<cart::CartService>> = None;
        if targets.contains(&Target::Cart) {
            let db = open_database(
                cart::NAME,
                cfg.cart.database_url.as_ref(),
                cfg,
                cart::migrator,
            )
            .await?;
            let catalog: Arc<dyn contracts::clients::catalog::CatalogClient> = match (
                &catalog_service,
                &cfg.cart.catalog_url,
            ) {
                (Some(service), _) => Arc::new(catalog::client::InProcessCatalog(service.clone())),
                (None, url) if url.is_some() || etcd.is_some() => {
                    Arc::new(cart::catalog_http::HttpCatalog::new(
                        Arc::new(platform::discovery::Endpoints::new(
                            catalog::NAME,
                            etcd.clone(),
                            url.clone(),
                        )),
                        Duration::from_millis(cfg.cart.catalog_timeout_ms),
                    )?)
                }
                (None, _) => anyhow::bail!(
                    "cart reads the catalog: set discovery.etcd_url or cart.catalog_url (MERCATO__CART__CATALOG_URL) when catalog does not run in this process"
                ),
            };
            let service = Arc::new(cart::CartService::new(
                db.clone(),
                cfg.cart.clone(),
                catalog,
            ));
            bus.subscribe(
                cart::events::subscription(),
                Arc::new(cart::events::PriceUpdates(service.clone())),
                stop.clone(),
            )
            .await
            .context("subscribing cart to product.updated")?;
            bus.subscribe(
                cart::events::orders_subscription(),
                Arc::new(cart::events::CheckedOut(service.clone())),
                stop.clone(),
            )
            .await
            .context("subscribing cart to order.placed")?;
            let janitor = service.clone();
            background.push(Box::new(move |stop| {
                Box::pin(cart::service::run_janitor(janitor, stop))
            }));
            cart_service = Some(service.clone());
            let verifier = verifier(cfg, local_keys.as_ref(), "cart")?;
            let (routes, api) = cart::http::router(cart::http::CartState { service, verifier });
            router = router.merge(routes);
            openapi = Some(merge_openapi(openapi, api));
            checks.push(database_check(cart::NAME, &db));
            databases.push(db);
        }
        if targets.contains(&Target::Orders) {
            let db = open_database(
                orders::NAME,
                cfg.orders.database_url.as_ref(),
                cfg,
                orders::migrator,
            )
            .await?;
            let cart: Arc<dyn contracts::clients::cart::CartClient> = match (
                &cart_service,
                &cfg.orders.cart_url,
            ) {
                (Some(service), _) => Arc::new(cart::client::InProcessCart(service.clone())),
                (None, url) if url.is_some() || etcd.is_some() => {
                    Arc::new(orders::cart_http::HttpCart::new(
                        Arc::new(platform::discovery::Endpoints::new(
                            cart::NAME,
                            etcd.clone(),
                            url.clone(),
                        )),
                        Duration::from_millis(cfg.orders.cart_timeout_ms),
                    )?)
                }
                (None, _) => anyhow::bail!(
                    "orders reads carts: set discovery.etcd_url or orders.cart_url (MERCATO__ORDERS__CART_URL) when cart does not run in this process"
                ),
            };
            let service = Arc::new(orders::OrdersService::new(
                db.clone(),
                cfg.orders.clone(),
                cart,
                platform::idempotency::in_flight_lease(std::time::Duration::from_secs(
                    cfg.http.request_timeout_secs,
                )),
            ));
            outboxes.push(service.outbox());
            bus.subscribe(
                orders::events::subscription(),
                Arc::new(orders::events::SagaEvents(service.clone())),
                stop.clone(),
            )
            .await
            .context("subscribing orders to inventory and payment events")?;
            background.push(idempotency_janitor(db.clone()));
            let verifier = verifier(cfg, local_keys.as_ref(), "orders")?;
            let (routes, api) =
                orders::http::router(orders::http::OrdersState { service, verifier });
            router = router.merge(routes);
            openapi = Some(merge_openapi(openapi, api));
            checks.push(database_check(orders::NAME, &db));
            databases.push(db);
        }
        if targets.contains(&Target::Payments) {
            let db = open_database(
                payments::NAME,
                cfg.payments.database_url.as_ref(),
                cfg,
                payments::migrator,
            )
            .await?;
            let service = Arc::new(payments::PaymentsService::new(db.clone(), &cfg.payments)?);
            if targets.contains(&Target::Orders) {
                for provider in &cfg.orders.payment_providers {
                    anyhow::ensure!(
                        service.provider_names().contains(&provider.as_str()),
                        "orders.payment_providers offers `{provider}`, which payments has not enabled"
                    );
                }
            }
            outboxes.push(service.outbox());
            bus.subscribe(
                payments::events::subscription(),
                Arc::new(payments::events::OrderEvents(service.clone())),
                stop.clone(),
            )
            .await
            .context("subscribing payments to order events")?;
            background.push(idempotency_janitor(db.clone()));
            let reopener = service.clone();
            background.push(Box::new(move |stop| {
                Box::pin(payments::service::run_reopener(reopener, stop))
            }));
            let verifier = verifier(cfg, local_keys.as_ref(), "payments")?;
            let (routes, api) =
                payments::http::router(payments::http::PaymentsState { service, verifier });
            router = router.merge(routes);
            openapi = Some(merge_openapi(openapi, api));
            checks.push(database_check(payments::NAME, &db));
            databases.push(db);
        }
        if targets.contains(&Target::Notifications) {
            let db = open_database(
                notifications::NAME,
                cfg.notifications.database_url.as_ref(),
                cfg,
                notifications::migrator,
            )
            .await?;
            let templates =
                notifications::templates::Templates::load(cfg.notifications.templates_dir.clone())?;
            let channels = notifications::channels(&cfg.notifications, &cfg.database.data_dir)?;
            let service = Arc::new(notifications::NotificationsService::new(
                db.clone(),
                cfg.notifications.clone(),
                templates,
                channels,
            ));
            bus.subscribe(
                notifications::events::subscription(),
                Arc::new(notifications::events::Notify(service.clone())),
                stop.clone(),
            )
            .await
            .context("subscribing notifications to customer events")?;
            let dispatcher = service.clone();
            background.push(Box::new(move |stop| {
                Box::pin(notifications::service::run_dispatcher(dispatcher, stop))
            }));
            let verifier = verifier(cfg, local_keys.as_ref(), "notifications")?;
            let (routes, api) =
                notifications::http::router(notifications::http::NotificationsState {
                    service,
                    verifier,
                });
            router = router.merge(routes);
            openapi = Some(merge_openapi(openapi, api));
            checks.push(database_check(notifications::NAME, &db));
            databases.push(db);
        }
        let openapi = openapi.unwrap_or_default();
        let mut router = router.merge(server::ops_router(checks, openapi));
        if let Some(etcd) = &etcd {
            // Registered, this process is one of the gateway's edge servers.
            let services = Target::ALL.iter().map(|t| t.name().to_owned()).collect();
            router = router.merge(platform::http::edge::router(
                platform::http::edge::EdgeState::new(etcd.clone(), services)?,
            ));
        }
        Ok(Self {
            router: platform::http::layers::apply(router, &cfg.http),
            databases,
            bus,
            outboxes,
            background,
            stop,
            eventbus: cfg.eventbus.clone(),
            registry,
        })
    }

    /// The event bus, for subscribing before serving (and for tests).
    pub fn bus(&self) -> Arc<dyn EventBus> {
        self.bus.clone()
    }

    /// The full router, for tests that serve it themselves.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Serves on `listener` and relays the outboxes until `shutdown` is
    /// cancelled; then drains requests, stops the relays, closes pools.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
        grace: Duration,
    ) -> anyhow::Result<()> {
        // Relays and consumers outlive the HTTP drain, so that requests
        // finishing during it still get their events out.
        let background = self.stop.clone();
        let relays: Vec<_> = self
            .outboxes
            .iter()
            .map(|outbox| {
                tokio::spawn(eventbus::outbox::run_relay(
                    outbox.clone(),
                    self.bus.clone(),
                    self.eventbus.clone(),
                    background.clone(),
                ))
            })
            .collect();
        let mut jobs: Vec<_> = self
            .background
            .into_iter()
            .map(|task| tokio::spawn(task(background.clone())))
            .collect();
        if let Some(registry) = self.registry {
            // Leaves the registry when the drain starts, so the gateway
            // sends nothing new to an instance that is going away.
            let registrations = registry.registrations(listener.local_addr()?).await?;
            jobs.push(tokio::spawn(platform::discovery::run_registration(
                registry.etcd,
                registrations,
                registry.cfg.lease_ttl_secs,
                registry.status,
                shutdown.clone(),
            )));
        }
        let result = server::serve(listener, self.router, shutdown, grace).await;
        background.cancel();
        for task in relays.into_iter().chain(jobs) {
            let _ = task.await;
        }
        for db in &self.databases {
            db.close().await;
        }
        result
    }
}

/// Forgets idempotency keys past their 24 hours, every hour.
fn idempotency_janitor(db: Db) -> BackgroundTask {
    Box::new(move |stop| {
        Box::pin(async move {
            loop {
                match platform::idempotency::prune(&db, platform::time::now_millis()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(keys = n, "forgot expired idempotency keys"),
                    Err(e) => tracing::warn!(error.message = %e, "pruning idempotency keys failed"),
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(3600)) => {},
                    () = stop.cancelled() => return,
                }
            }
        })
    })
}

impl Registry {
    /// One registration per service this process runs, at the address
    /// others reach it by.
    async fn registrations(
        &self,
        listening: std::net::SocketAddr,
    ) -> anyhow::Result<Vec<platform::discovery::Registration>> {
        let url = match &self.cfg.advertise_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let ip = if listening.ip().is_unspecified() {
                    self.local_ip().await?
                } else {
                    listening.ip()
                };
                format!("http://{}", std::net::SocketAddr::new(ip, listening.port()))
            }
        };
        let instance = url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .replace(['/', ':', '.'], "-");
        Ok(self
            .targets
            .iter()
            .map(|target| platform::discovery::Registration {
                service: target.name().to_owned(),
                instance: format!("{}-{instance}", target.name()),
                url: url.clone(),
                rule: platform::discovery::path_rule(target.route_prefixes()),
                middlewares: self.cfg.middlewares.clone(),
                servers_transport: self.cfg.servers_transport.clone(),
            })
            .collect())
    }

    /// This host's address on the route to etcd (what other hosts on that
    /// network reach it by); no packet is sent.
    async fn local_ip(&self) -> anyhow::Result<std::net::IpAddr> {
        let url = self.cfg.etcd_url.as_deref().unwrap_or_default();
        let host = url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap_or_default();
        let target = tokio::net::lookup_host(if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:2379")
        })
        .await?
        .next()
        .ok_or_else(|| anyhow::anyhow!("discovery.etcd_url: {host} does not resolve"))?;
        let socket = tokio::net::UdpSocket::bind(("0.0.0.0", 0)).await?;
        socket.connect(target).await?;
        Ok(socket.local_addr()?.ip())
    }
}

/// Token checks for a service: the in-process keys when users runs here,
/// else the users service's JWKS.
fn verifier(
    cfg: &Config,
    local: Option<&Arc<dyn KeySource>>,
    service: &str,
) -> anyhow::Result<Verifier> {
    let keys: Arc<dyn KeySource> = match (local, &cfg.auth.jwks_url) {
        (Some(keys), _) => keys.clone(),
        (None, Some(url)) => Arc::new(RemoteJwks::new(url, Duration::from_secs(30))?),
        (None, None) => anyhow::bail!(
            "{service} checks access tokens: set auth.jwks_url (MERCATO__AUTH__JWKS_URL) \
             when users does not run in this process"
        ),
    };
    Ok(Verifier::new(&cfg.auth.issuer, &cfg.auth.audience, keys))
}

/// The migrations of a service, for the engine it runs on.
pub type MigratorFor = fn(Backend) -> sqlx::migrate::Migrator;

/// Opens a service's database and, if configured, migrates it.
pub async fn open_database(
    name: &str,
    own_url: Option<&secrecy::SecretString>,
    cfg: &Config,
    migrator: MigratorFor,
) -> anyhow::Result<Db> {
    let db = Db::connect(name, own_url, &cfg.database)
        .await
        .with_context(|| format!("opening the {name} database"))?;
    if cfg.database.migrate_on_start {
        db.migrate(&migrator(db.backend()))
            .await
            .with_context(|| format!("migrating the {name} database"))?;
    }
    Ok(db)
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
