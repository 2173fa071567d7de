//! `mercato`: the one binary of the Mercato platform.

use std::{io::BufRead as _, net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use mercato::{App, Config, Target};
use tokio_util::sync::CancellationToken;

const ENV_HELP: &str = "\
CONFIGURATION
  Built-in defaults (config/base.toml, every key commented), then the TOML file
  given with --config, then environment variables, then flags. Variables are
  MERCATO__<SECTION>__<KEY>, for example:

  MERCATO__HTTP__LISTEN=0.0.0.0:8080          address to listen on
  MERCATO__HTTP__CORS_ORIGINS=https://a,https://b
  MERCATO__TELEMETRY__FORMAT=json|pretty|auto log format (ECS JSON or text)
  MERCATO__DATABASE__DATA_DIR=./data          SQLite files (the default storage)
  MERCATO__DATABASE__URL=postgres://...       one PostgreSQL server, a schema per service
  MERCATO__USERS__DATABASE_URL=postgres://... the users service's own database
  MERCATO__AUTH__JWKS_URL=http://users:8080/.well-known/jwks.json
  MERCATO__EVENTBUS__NATS_URL=nats://nats:4222  NATS JetStream instead of the in-process bus
  MERCATO__CART__CATALOG_URL=http://catalog:8080  where cart reads prices when catalog runs apart
  MERCATO__ORDERS__CART_URL=http://cart:8080  where orders reads carts when cart runs apart
  MERCATO__CART__PRICING_URL, MERCATO__ORDERS__PRICING_URL=http://pricing:8080  where they price carts when pricing runs apart
  MERCATO__CATALOG__DEMO_PRODUCTS=0           no demo catalog on first start
  MERCATO__USERS__ADMIN_EMAIL, MERCATO__USERS__ADMIN_PASSWORD  first admin
  MERCATO__WEB__API_URL=http://traefik:8080   where the storefront calls the API when it runs apart
  MERCATO__WEB__SESSION_KEY=<base64 32 bytes> seals the storefront's session cookies
  RUST_LOG=debug                              log filter (wins over telemetry.filter)

  A bad or unknown setting stops the start with a message naming it.";

/// Mercato: an e-commerce platform. One binary runs every service
/// (`serve`), or one of them per process (`serve --target users`).
#[derive(Debug, Parser)]
#[command(version, about, after_long_help = ENV_HELP)]
struct Cli {
    /// TOML configuration file layered over the defaults.
    #[arg(long, global = true, env = "MERCATO_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run services over HTTP until SIGTERM or Ctrl-C.
    Serve {
        /// `all`, or a comma-separated list of services (known: users, catalog, cart, orders, payments, notifications, web).
        #[arg(long, env = "MERCATO_TARGET", default_value = "all")]
        target: String,
        /// Address to listen on [default: 127.0.0.1:8080, from http.listen].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Apply the database migrations of the selected services, then exit.
    Migrate {
        /// `all`, or a comma-separated list of services.
        #[arg(long, env = "MERCATO_TARGET", default_value = "all")]
        target: String,
    },
    /// Add demo products (and their categories) to the catalog, then exit.
    Seed {
        /// How many products to create (existing demo products count).
        #[arg(long, default_value_t = 1000)]
        products: usize,
    },
    /// Manage accounts from the command line (works with or without a running server).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Exit 0 if URL answers 2xx: a container health check that needs no shell.
    Healthcheck {
        /// The URL to probe.
        #[arg(default_value = "http://127.0.0.1:8080/health/ready")]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create an admin account.
    CreateAdmin {
        /// The admin's email.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Exactly one rustls provider is compiled in (aws-lc-rs); installing it
    // explicitly keeps a stray `ring` from making rustls panic at first use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match cli.command {
        Command::Serve { target, listen } => {
            let overrides: Vec<(&str, String)> = listen
                .map(|l| ("http.listen", l.to_string()))
                .into_iter()
                .collect();
            let cfg = Config::load(cli.config.as_deref(), &overrides)?;
            let targets = Target::parse_list(&target)?;
            let service_name = if targets == Target::ALL {
                "mercato".to_owned()
            } else {
                target.replace(',', "+")
            };
            platform::telemetry::init(&cfg.telemetry, &service_name)?;
            let served = serve(cfg, &targets).await;
            platform::telemetry::shutdown();
            served
        }
        Command::Migrate { target } => {
            let cfg = Config::load(cli.config.as_deref(), &[])?;
            for target in Target::parse_list(&target)? {
                if migrate(&cfg, target).await? {
                    println!("{target}: migrations applied");
                }
            }
            Ok(())
        }
        Command::Seed { products } => {
            let cfg = Config::load(cli.config.as_deref(), &[])?;
            let db = mercato::open_database(
                catalog::NAME,
                cfg.catalog.database_url.as_ref(),
                &cfg.database,
                catalog::migrator,
            )
            .await?;
            let service = catalog::CatalogService::new(db.clone(), cfg.catalog.clone());
            let result = catalog::seed::seed(&service, products).await;
            db.close().await;
            let created = result.map_err(|e| anyhow::anyhow!("seeding the catalog: {e}"))?;
            println!("catalog: {created} demo products created");
            Ok(())
        }
        Command::Users {
            command:
                UsersCommand::CreateAdmin {
                    email,
                    password_stdin: _,
                },
        } => {
            let cfg = Config::load(cli.config.as_deref(), &[])?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let db = mercato::open_database(
                users::NAME,
                cfg.users.database_url.as_ref(),
                &cfg.database,
                users::migrator,
            )
            .await?;
            let service =
                users::UsersService::new(db.clone(), cfg.users.clone(), &cfg.auth).await?;
            let result = service.create_admin(&email, password).await;
            db.close().await;
            match result {
                Ok(account) => {
                    println!("created admin {} ({})", account.email, account.id);
                    Ok(())
                }
                Err(users::error::UsersError::EmailTaken) => {
                    anyhow::bail!("an account with email {email} exists already")
                }
                Err(users::error::UsersError::Validation(errors)) => {
                    anyhow::bail!("{}", reasons(&errors))
                }
                Err(users::error::UsersError::Problem(problem)) if !problem.errors.is_empty() => {
                    anyhow::bail!("{}", reasons(&problem.errors))
                }
                Err(e) => Err(anyhow::anyhow!("{e}")),
            }
        }
        Command::Healthcheck { url } => platform::http::server::healthcheck(&url).await,
    }
}

/// Field errors as `field message; field message`.
fn reasons(errors: &[platform::FieldError]) -> String {
    let reasons: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect();
    reasons.join("; ")
}

async fn serve(cfg: Config, targets: &[Target]) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(cfg.http.listen)
        .await
        .with_context(|| format!("binding {}", cfg.http.listen))?;
    let app = App::build(&cfg, targets).await?;
    let shutdown = CancellationToken::new();
    platform::shutdown::cancel_on_signal(shutdown.clone());
    let names: Vec<&str> = targets.iter().map(|t| t.name()).collect();
    tracing::info!(listen = %cfg.http.listen, targets = %names.join(","), "mercato is serving");
    app.serve(
        listener,
        shutdown,
        Duration::from_secs(cfg.http.shutdown_grace_secs),
    )
    .await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Applies `target`'s migrations; false for a target without a database.
async fn migrate(cfg: &Config, target: Target) -> anyhow::Result<bool> {
    let Some((url, migrator)) = target.migrations(cfg) else {
        return Ok(false);
    };
    let db = platform::db::Db::connect(target.name(), url, &cfg.database).await?;
    let result = db.migrate(&migrator(db.backend())).await;
    db.close().await;
    result.map(|()| true)
}
