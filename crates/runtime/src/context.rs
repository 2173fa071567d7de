//! What the process hands a service to build its module from.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use eventbus::EventBus;
use platform::{
    auth::{KeySource, RemoteJwks, Verifier},
    config::{AuthConfig, DatabaseConfig, HttpConfig},
    db::{Backend, Db},
    discovery::{Endpoints, Etcd},
};

/// The migrations of a service, for the engine it runs on.
pub type MigratorFor = fn(Backend) -> sqlx::migrate::Migrator;

/// Opens a service's database (its own URL, else the shared one) and, if
/// `database.migrate_on_start`, migrates it.
pub async fn open_database(
    name: &str,
    own_url: Option<&secrecy::SecretString>,
    database: &DatabaseConfig,
    migrator: MigratorFor,
) -> anyhow::Result<Db> {
    let db = Db::connect(name, own_url, database)
        .await
        .with_context(|| format!("opening the {name} database"))?;
    if database.migrate_on_start {
        db.migrate(&migrator(db.backend()))
            .await
            .with_context(|| format!("migrating the {name} database"))?;
    }
    Ok(db)
}

/// The process a module is built into: its bus, its service discovery,
/// the shared configuration sections, and what the modules built before
/// offer in-process (their clients, the token keys).
pub struct Context {
    /// The event bus every module publishes to and consumes from.
    pub bus: Arc<dyn EventBus>,
    /// Service discovery, when the process runs distributed.
    pub etcd: Option<Etcd>,
    /// `[database]`.
    pub database: DatabaseConfig,
    /// `[auth]`.
    pub auth: AuthConfig,
    /// `[http]`.
    pub http: HttpConfig,
    /// Every service runs in this process (`mercato serve` without
    /// `--target`): the one case that opens on demo data.
    pub all_in_one: bool,
    offered: Offered,
}

/// Values by their type.
#[derive(Default)]
struct Offered(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl Offered {
    fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Box::new(value));
    }

    fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("bus", &self.bus.kind())
            .field("all_in_one", &self.all_in_one)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A process on `bus`, with discovery through `etcd` if set.
    pub fn new(
        bus: Arc<dyn EventBus>,
        etcd: Option<Etcd>,
        database: DatabaseConfig,
        auth: AuthConfig,
        http: HttpConfig,
        all_in_one: bool,
    ) -> Self {
        Self {
            bus,
            etcd,
            database,
            auth,
            http,
            all_in_one,
            offered: Offered::default(),
        }
    }

    /// Opens a service's database and, if configured, migrates it.
    pub async fn open_database(
        &self,
        name: &str,
        own_url: Option<&secrecy::SecretString>,
        migrator: MigratorFor,
    ) -> anyhow::Result<Db> {
        open_database(name, own_url, &self.database, migrator).await
    }

    /// Offers `value` to the modules built after this one (a service's
    /// in-process client, say `Arc<dyn CartClient>`), by its type.
    pub fn offer<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.offered.insert(value);
    }

    /// What an earlier module offered of type `T`, if it runs here.
    pub fn offered<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.offered.get()
    }

    /// Where to reach `service` over HTTP: its instances in etcd, else
    /// `url`; None when neither is configured.
    pub fn endpoints(&self, service: &str, url: Option<String>) -> Option<Arc<Endpoints>> {
        (url.is_some() || self.etcd.is_some())
            .then(|| Arc::new(Endpoints::new(service, self.etcd.clone(), url)))
    }

    /// A client of another service: the one it offered in-process if it
    /// runs here, else `http` over its instances (etcd, or `url`, the
    /// caller's `setting`); a start error naming the setting when neither.
    /// Name `T` (`peer::<Arc<dyn CartClient>>`): it is the type looked up,
    /// and one inferred from the HTTP client would never be found.
    pub fn peer<T: Clone + Send + Sync + 'static>(
        &self,
        service: &str,
        url: Option<String>,
        setting: &str,
        http: impl FnOnce(Arc<Endpoints>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if let Some(local) = self.offered::<T>() {
            return Ok(local);
        }
        match self.endpoints(service, url) {
            Some(endpoints) => http(endpoints),
            None => anyhow::bail!(
                "{service} is called from here: set discovery.etcd_url or {setting} \
                 (MERCATO__{}) when {service} does not run in this process",
                setting.to_uppercase().replace('.', "__")
            ),
        }
    }

    /// Token checks for `service`: the in-process keys when users runs
    /// here (offered as `Arc<dyn KeySource>`), else the users service's
    /// JWKS.
    pub fn verifier(&self, service: &str) -> anyhow::Result<Verifier> {
        let keys: Arc<dyn KeySource> =
            match (self.offered::<Arc<dyn KeySource>>(), &self.auth.jwks_url) {
                (Some(keys), _) => keys,
                (None, Some(url)) => Arc::new(RemoteJwks::new(url, Duration::from_secs(30))?),
                (None, None) => anyhow::bail!(
                    "{service} checks access tokens: set auth.jwks_url (MERCATO__AUTH__JWKS_URL) \
                 when users does not run in this process"
                ),
            };
        Ok(Verifier::new(&self.auth.issuer, &self.auth.audience, keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Greeter: Send + Sync {
        fn greet(&self) -> &'static str;
    }
    struct Hello;
    impl Greeter for Hello {
        fn greet(&self) -> &'static str {
            "hello"
        }
    }

    #[test]
    fn what_a_module_offers_is_found_by_its_type_and_nothing_else() {
        let mut offered = Offered::default();
        let greeter: Arc<dyn Greeter> = Arc::new(Hello);
        offered.insert(greeter);
        assert_eq!(
            offered.get::<Arc<dyn Greeter>>().map(|g| g.greet()),
            Some("hello")
        );
        assert!(offered.get::<Arc<Hello>>().is_none());
        assert!(offered.get::<String>().is_none());
    }
}
