//! Configuration sections every service shares, and the layered loader.
//!
//! Layers, later wins: built-in defaults (`config/base.toml`, embedded by the
//! binary) -> an optional TOML file -> `MERCATO__SECTION__KEY` environment
//! variables -> command-line flags. Each service crate owns its own section
//! type; the binary composes them into one document.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context as _;
use secrecy::SecretString;
use serde::{Deserialize, de::DeserializeOwned};

/// Loads a configuration document from the embedded defaults, an optional
/// file, the environment and explicit overrides (flags), in that order.
///
/// `list_keys` names the keys whose environment value is a comma-separated
/// list. Errors name the offending key.
pub fn load<T: DeserializeOwned>(
    defaults: &str,
    file: Option<&std::path::Path>,
    list_keys: &[&str],
    overrides: &[(&str, String)],
) -> anyhow::Result<T> {
    let mut builder = ::config::Config::builder().add_source(::config::File::from_str(
        defaults,
        ::config::FileFormat::Toml,
    ));
    if let Some(path) = file {
        builder = builder.add_source(
            ::config::File::from(path)
                .format(::config::FileFormat::Toml)
                .required(true),
        );
    }
    let mut env = ::config::Environment::with_prefix("MERCATO")
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true);
    if !list_keys.is_empty() {
        env = env.list_separator(",");
        for key in list_keys {
            env = env.with_list_parse_key(key);
        }
    }
    builder = builder.add_source(env);
    for (key, value) in overrides {
        builder = builder
            .set_override(*key, value.clone())
            .with_context(|| format!("invalid value for `{key}`"))?;
    }
    let raw = builder.build().context("reading configuration")?;
    // serde_path_to_error names the exact key when a value has the wrong shape.
    serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        anyhow::anyhow!("invalid configuration at `{path}`: {}", e.into_inner())
    })
}

/// `[http]`: the listener and the limits every request is held to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Upper bound for one request, in seconds; past it the client gets 503
    /// with `Retry-After`.
    pub request_timeout_secs: u64,
    /// Largest accepted request body, in bytes; larger gets 413.
    pub body_limit_bytes: usize,
    /// Origins allowed by CORS; empty disables CORS, `*` allows any.
    pub cors_origins: Vec<String>,
    /// How long in-flight requests may take to finish after SIGTERM, in seconds.
    pub shutdown_grace_secs: u64,
    /// Take the client address from `X-Forwarded-For` when the request
    /// comes from one of `trusted_proxies` (behind a gateway that sets it,
    /// such as Traefik).
    pub trust_forwarded_for: bool,
    /// The networks of the proxies whose `X-Forwarded-For` is believed: the
    /// client is the right-most address in it that is not one of them.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl HttpConfig {
    /// Checks ranges that serde cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=3600).contains(&self.request_timeout_secs),
            "http.request_timeout_secs must be within 1..=3600"
        );
        anyhow::ensure!(
            (1024..=64 * 1024 * 1024).contains(&self.body_limit_bytes),
            "http.body_limit_bytes must be within 1024..=67108864"
        );
        for origin in &self.cors_origins {
            anyhow::ensure!(
                origin == "*" || origin.starts_with("http://") || origin.starts_with("https://"),
                "http.cors_origins: `{origin}` is neither `*` nor an http(s) origin"
            );
        }
        Ok(())
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// ECS JSON lines when stdout is not a terminal, readable text otherwise.
    Auto,
    /// One Elastic Common Schema JSON object per line.
    Json,
    /// Human-readable lines for a terminal.
    Pretty,
}

/// `[telemetry]`: logs, metrics and traces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `auto`, `json` or `pretty`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info,sqlx=warn`; `RUST_LOG` wins when set.
    pub filter: String,
    /// `service.name` in every log line and span; empty means `mercato` or
    /// the target.
    pub service_name: String,
    /// Base URL of an OTLP/HTTP collector (`http://collector:4318`); spans
    /// go to `<url>/v1/traces`. Empty: spans are not exported.
    #[serde(default)]
    pub otlp_endpoint: String,
    /// The share of new traces exported, 0 to 1; a caller's decision is kept.
    #[serde(default = "all_traces")]
    pub sampling_ratio: f64,
    /// Whether the process keeps Prometheus metrics (`/metrics`); off, the
    /// recording calls do nothing and `/metrics` is empty.
    #[serde(default = "metrics_on")]
    pub metrics: bool,
}

fn metrics_on() -> bool {
    true
}

fn all_traces() -> f64 {
    1.0
}

/// `[database]`: where services keep their data unless a service names its own URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Folder for the embedded SQLite files (one per service).
    pub data_dir: PathBuf,
    /// A PostgreSQL server shared by the services: each gets its own schema.
    pub url: Option<SecretString>,
    /// Prefix of each service's schema on the shared server (`<prefix><service>`).
    pub schema_prefix: String,
    /// Connections per service pool on PostgreSQL.
    pub max_connections: u32,
    /// Connections per service pool on SQLite: one writes at a time, and
    /// each keeps its own page cache and thread, so fewer suffice.
    pub sqlite_max_connections: u32,
    /// Run each service's migrations when it starts.
    pub migrate_on_start: bool,
}

impl DatabaseConfig {
    /// Checks ranges and URL shapes.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=1000).contains(&self.max_connections),
            "database.max_connections must be within 1..=1000"
        );
        anyhow::ensure!(
            (2..=100).contains(&self.sqlite_max_connections),
            "database.sqlite_max_connections must be within 2..=100"
        );
        anyhow::ensure!(
            self.schema_prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "database.schema_prefix may hold only a-z, 0-9 and _"
        );
        if let Some(url) = &self.url {
            crate::db::check_url("database.url", url)?;
            anyhow::ensure!(
                crate::db::is_postgres(url),
                "database.url must be a postgres:// URL (SQLite is the default without it)"
            );
        }
        Ok(())
    }
}

/// `[auth]`: how access tokens are checked by every service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `iss` of access tokens.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// JWKS of the users service, for services running without it in-process.
    pub jwks_url: Option<String>,
}

impl AuthConfig {
    /// Checks that names are set and the JWKS URL is an http(s) URL.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.issuer.is_empty(), "auth.issuer must not be empty");
        anyhow::ensure!(!self.audience.is_empty(), "auth.audience must not be empty");
        if let Some(url) = &self.jwks_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "auth.jwks_url must be an http(s) URL"
            );
        }
        Ok(())
    }
}

/// `[discovery]`: registration in etcd (for Traefik and for the services
/// that call this one), and lookups of other services there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// etcd client URL, e.g. `http://etcd:2379`; unset: no registration,
    /// other services are reached at their configured URLs.
    pub etcd_url: Option<String>,
    /// Lease of the instance's keys: a crashed instance drops out after this.
    pub lease_ttl_secs: u64,
    /// How other hosts reach this instance, e.g. `http://10.0.3.7:8080`;
    /// unset: this host's address toward etcd and the listening port.
    pub advertise_url: Option<String>,
    /// Traefik middlewares every router applies (defined in Traefik's own
    /// configuration), e.g. `["mercato-retry@file"]`.
    pub middlewares: Vec<String>,
    /// The Traefik servers transport of this instance's services, e.g.
    /// `mercato-provider-calls@file` for one whose requests wait on a
    /// payment provider; unset: the gateway's default (its timeouts).
    pub servers_transport: Option<String>,
}

impl DiscoveryConfig {
    /// Checks URLs and the lease.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (key, url) in [
            ("discovery.etcd_url", &self.etcd_url),
            ("discovery.advertise_url", &self.advertise_url),
        ] {
            if let Some(url) = url {
                anyhow::ensure!(
                    url.starts_with("http://") || url.starts_with("https://"),
                    "{key} must be an http(s) URL"
                );
            }
        }
        anyhow::ensure!(
            (2..=300).contains(&self.lease_ttl_secs),
            "discovery.lease_ttl_secs must be within 2..=300"
        );
        Ok(())
    }
}
