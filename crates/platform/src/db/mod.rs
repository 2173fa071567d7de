//! One database pool per service, on SQLite (embedded default) or PostgreSQL.
//!
//! All SQL goes through sqlx's `Any` driver with `$N` placeholders and only
//! TEXT and BIGINT columns, so one code path serves both backends. Each
//! service owns its own SQLite file or its own PostgreSQL schema.

use std::{
    str::FromStr as _,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::{
    Any, AnyPool, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::DatabaseConfig;

mod params;
pub use params::{Param, Params};

/// Which engine a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The engine's name as OpenTelemetry spells it (`db.system.name`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }
}

/// A service's pool and the engine behind it.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// On PostgreSQL: the server URL and the channel prefix for
    /// [`Db::notify`] and [`Db::listen`].
    notify: Option<(SecretString, String)>,
    /// SQLite: the turn to write, one writer at a time (see [`Db::begin_write`]).
    writer: Arc<Semaphore>,
    /// Write transactions waiting to begin.
    waiting: Arc<AtomicU64>,
    /// The service whose pool this is (the `service` label of its metrics).
    service: Arc<str>,
}

/// Counts one writer as waiting until dropped (also when its future is
/// dropped while waiting), then records how long it waited
/// (`db_write_wait_seconds{service}`).
struct Waiting<'a> {
    db: &'a Db,
    since: Instant,
}

impl<'a> Waiting<'a> {
    fn start(db: &'a Db) -> Self {
        db.waiting.fetch_add(1, Ordering::Relaxed);
        Self {
            db,
            since: Instant::now(),
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.db.waiting.fetch_sub(1, Ordering::Relaxed);
        metrics::histogram!("db_write_wait_seconds", "service" => self.db.service.to_string())
            .record(self.since.elapsed().as_secs_f64());
    }
}

/// A pool's use at one moment ([`Db::pool_usage`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolUsage {
    /// Connections lent out.
    pub in_use: u32,
    /// Connections open and free.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
    /// Write transactions waiting to begin (for the write turn on SQLite,
    /// for a connection on PostgreSQL).
    pub waiting: u64,
}

/// A write transaction from [`Db::begin_write`]; it holds this process's
/// write turn on SQLite until committed, rolled back or dropped (which
/// rolls back).
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Option<OwnedSemaphorePermit>,
    /// From waiting for the turn to the end, when traces are exported.
    span: tracing::Span,
}

impl WriteTx {
    /// Commits, then lets the next writer in.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.span.record("db.outcome", "commit");
        let result = self.tx.commit().await;
        if result.is_err() {
            self.span.record("otel.status_code", "ERROR");
        }
        result
    }

    /// Rolls back, then lets the next writer in.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.span.record("db.outcome", "rollback");
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Is this a PostgreSQL URL?
pub fn is_postgres(url: &SecretString) -> bool {
    let url = url.expose_secret();
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Checks that `url` is a database URL this build understands; `key` names
/// the setting in the error.
pub fn check_url(key: &str, url: &SecretString) -> anyhow::Result<()> {
    let raw = url.expose_secret();
    anyhow::ensure!(
        is_postgres(url) || raw.starts_with("sqlite:"),
        "{key} must start with postgres://, postgresql:// or sqlite:"
    );
    Ok(())
}

impl Db {
    /// Opens the pool for `service`: its own URL if given, else its schema on
    /// the shared server, else its SQLite file under the data folder.
    pub async fn connect(
        service: &str,
        own_url: Option<&SecretString>,
        cfg: &DatabaseConfig,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let db = match (own_url, &cfg.url) {
            (Some(url), _) if is_postgres(url) => {
                Self::postgres(url.expose_secret(), None, cfg.max_connections).await
            }
            (Some(url), _) => Self::sqlite(url.expose_secret(), cfg.sqlite_max_connections).await,
            (None, Some(server)) => {
                let schema = format!("{}{}", cfg.schema_prefix, service);
                Self::postgres(server.expose_secret(), Some(schema), cfg.max_connections).await
            }
            (None, None) => {
                std::fs::create_dir_all(&cfg.data_dir).with_context(|| {
                    format!("creating the data folder {}", cfg.data_dir.display())
                })?;
                let path = cfg.data_dir.join(format!("{service}.db"));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                Self::sqlite(&url, cfg.sqlite_max_connections).await
            }
        }?;
        Ok(Self {
            service: Arc::from(service),
            ..db
        })
    }

    async fn sqlite(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let options = AnyConnectOptions::from_str(url).context("parsing the SQLite URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the one writer; busy_timeout
                    // makes writers queue instead of failing with SQLITE_BUSY.
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA busy_timeout = 10000",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA foreign_keys = ON",
                        // 1 MiB of page cache per connection instead of 2:
                        // seven services' pools would otherwise hold over
                        // 100 MiB of it, and the OS caches the file anyway.
                        "PRAGMA cache_size = -1024",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("opening the SQLite database")?;
        Ok(Self {
            pool,
            backend: Backend::Sqlite,
            notify: None,
            writer: Arc::new(Semaphore::new(1)),
            waiting: Arc::default(),
            service: Arc::from(""),
        })
    }

    async fn postgres(
        url: &str,
        schema: Option<String>,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        let options = AnyConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
        // Channels are per database; the schema keeps two deployments
        // sharing one database from hearing each other. Names are at most 63
        // bytes, so the schema is folded into a hash (FNV-1a: stable across
        // builds, so every version in a rolling update agrees).
        let schema_hash = schema
            .as_deref()
            .unwrap_or("public")
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        let channel_prefix = format!("mercato_{schema_hash:016x}");
        if let Some(schema) = &schema {
            // The schema name is checked by DatabaseConfig::validate and built
            // from a fixed service name, so quoting it is enough.
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .context("connecting to PostgreSQL")?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "create schema if not exists \"{schema}\""
            )))
            .execute(&pool)
            .await
            .with_context(|| format!("creating schema {schema}"))?;
            pool.close().await;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    if let Some(schema) = schema {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "set search_path to \"{schema}\""
                        )))
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("connecting to PostgreSQL")?;
        Ok(Self {
            pool,
            backend: Backend::Postgres,
            notify: Some((SecretString::from(url.to_owned()), channel_prefix)),
            writer: Arc::new(Semaphore::new(1)),
            waiting: Arc::default(),
            service: Arc::from(""),
        })
    }

    /// The pool, for reads and single statements.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs the service's migrations.
    pub async fn migrate(&self, migrator: &Migrator) -> anyhow::Result<()> {
        migrator.run(&self.pool).await.context("running migrations")
    }

    /// Starts a transaction that will write. On SQLite, writers of this
    /// process first queue in order for the one write lock (the engine allows
    /// one writer per file; SQLite's own busy handler would poll with sleeps
    /// of up to 100 ms), then take it up front (`BEGIN IMMEDIATE`), so a read
    /// lock never has to be upgraded; busy_timeout still covers writers in
    /// other processes.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let span = if crate::telemetry::tracing_enabled() {
            tracing::info_span!(
                "db.transaction",
                db.system.name = self.backend.name(),
                otel.kind = "client",
                db.outcome = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
            )
        } else {
            tracing::Span::none()
        };
        let waiting = Waiting::start(self);
        let tx = match self.backend {
            Backend::Sqlite => {
                let turn = self.writer.clone().acquire_owned().await.ok();
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                WriteTx {
                    tx,
                    _turn: turn,
                    span,
                }
            }
            Backend::Postgres => WriteTx {
                tx: self.pool.begin().await?,
                _turn: None,
                span,
            },
        };
        drop(waiting);
        Ok(tx)
    }

    /// Announces, when `conn`'s transaction commits, that `topic` (at most
    /// 38 bytes) changed,
    /// to every process listening on this database ([`Db::listen`]). On
    /// SQLite, whose file has one process, nothing is sent.
    pub async fn notify(
        &self,
        conn: &mut sqlx::AnyConnection,
        topic: &str,
    ) -> Result<(), sqlx::Error> {
        if let Some((_, prefix)) = &self.notify {
            sqlx::query("select pg_notify($1, '')")
                .bind(format!("{prefix}_{topic}"))
                .execute(conn)
                .await?;
        }
        Ok(())
    }

    /// A listener for [`Db::notify`] on `topic`, on PostgreSQL (`None` on
    /// SQLite). It reconnects by itself; a notice may be lost while it is
    /// disconnected, which `recv` reports as an error first.
    pub async fn listen(&self, topic: &str) -> anyhow::Result<Option<sqlx::postgres::PgListener>> {
        let Some((url, prefix)) = &self.notify else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect(url.expose_secret())
            .await
            .context("connecting a PostgreSQL listener")?;
        listener
            .listen(&format!("{prefix}_{topic}"))
            .await
            .context("listening for changes")?;
        Ok(Some(listener))
    }

    /// The pool's connections and the writers waiting for one.
    pub fn pool_usage(&self) -> PoolUsage {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolUsage {
            in_use: size.saturating_sub(idle),
            idle,
            max: self.pool.options().get_max_connections(),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    /// Answers whether the database responds, for `/health/ready`.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").execute(&self.pool).await.is_ok()
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Builds a migrator from SQL files embedded with `include_str!`, given as
/// `(version, description, sql)`. (sqlx's `migrate!` macro would pull in the
/// compile-time macro stack for one list.)
pub fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    use sqlx::{
        SqlSafeStr as _,
        migrate::{Migration, MigrationType},
    };
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    std::borrow::Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Did this failure (anywhere in its chain) come from a database that
/// cannot be reached, rather than from what was asked of it? Connections
/// that fail, break or time out, and the server refusing or shutting
/// down sessions (SQLSTATE classes 08 and 57P, 53300).
pub fn is_unreachable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(|e| match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08") || code.starts_with("57P") || code == "53300"
            }),
            _ => false,
        })
}

/// Is this error a violation of the named unique constraint or index?
///
/// The database enforces uniqueness; the code names the constraint (PostgreSQL
/// reports the name; SQLite reports the columns, matched as a fallback).
pub fn is_unique_violation(err: &sqlx::Error, constraint: &str, columns: &str) -> bool {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            db.constraint() == Some(constraint) || db.message().contains(columns)
        }
        _ => false,
    }
}

/// A database handle for one statement: the pool or a transaction. Store
/// functions take `impl Exec<'c>` so callers choose.
pub trait Exec<'c>: sqlx::Executor<'c, Database = Any> {}
impl<'c, T: sqlx::Executor<'c, Database = Any>> Exec<'c> for T {}

/// Reads a UUID stored as text. A value that is not one is corruption: an
/// error naming the column, never a made-up or missing id. `column` may be
/// `table.column`, so that the error names the table too.
pub fn uuid_column(row: &sqlx::any::AnyRow, column: &str) -> Result<uuid::Uuid, sqlx::Error> {
    let text: String = sqlx::Row::try_get(row, column_name(column))?;
    parse_uuid(column, &text)
}

/// The column of `table.column` (or of a bare column name).
fn column_name(qualified: &str) -> &str {
    qualified.rsplit('.').next().unwrap_or(qualified)
}

/// Reads a nullable UUID stored as text; NULL is `None`, anything else
/// must be a UUID (see [`uuid_column`]).
pub fn optional_uuid_column(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<uuid::Uuid>, sqlx::Error> {
    let text: Option<String> = sqlx::Row::try_get(row, column_name(column))?;
    text.map(|text| parse_uuid(column, &text)).transpose()
}

fn parse_uuid(column: &str, text: &str) -> Result<uuid::Uuid, sqlx::Error> {
    uuid::Uuid::parse_str(text).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(e),
    })
}
