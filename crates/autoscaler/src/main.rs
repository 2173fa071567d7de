//! `mercato-autoscaler --config autoscaler.toml`: scales the stack's Swarm
//! services on Prometheus's signals; serves its own `/metrics` and
//! `/health/live`. `mercato-autoscaler --healthcheck URL` is its image's
//! health check (the image has no shell).

use std::{path::PathBuf, time::Instant};

use anyhow::Context as _;
use autoscaler::{config::Config, controller::Controller, prometheus::Prometheus, swarm::Swarm};
use axum::{Router, routing::get};
use clap::Parser;
use platform::config::{LogFormat, TelemetryConfig};

#[derive(Parser)]
#[command(about = "Scales Mercato's Swarm services on the platform's signals in Prometheus")]
struct Args {
    /// The policies and settings (TOML); MERCATO_AUTOSCALER__* variables override it.
    #[arg(
        long,
        env = "MERCATO_AUTOSCALER_CONFIG",
        required_unless_present = "healthcheck"
    )]
    config: Option<PathBuf>,
    /// Exit 0 if URL answers 2xx, and do nothing else (no --config needed).
    #[arg(long, value_name = "URL")]
    healthcheck: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = match (args.healthcheck, args.config) {
        (Some(url), _) => return platform::http::server::healthcheck(&url).await,
        (None, Some(config)) => config,
        (None, None) => anyhow::bail!("--config is required"),
    };
    platform::telemetry::init(
        &TelemetryConfig {
            format: LogFormat::Auto,
            filter: "info".into(),
            service_name: "autoscaler".into(),
            otlp_endpoint: String::new(),
            sampling_ratio: 1.0,
            metrics: true,
        },
        "autoscaler",
    )?;
    let cfg = Config::load(&config)?;
    platform::metrics::install();
    let signals = Prometheus::new(&cfg.prometheus_url)?;
    let swarm = Swarm::connect().await?;
    let mut controller = Controller::new(signals, swarm, cfg.policies.clone(), cfg.dry_run);

    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    let ops = Router::new()
        .route("/metrics", get(platform::metrics::render))
        .route("/health/live", get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, ops).await });
    tracing::info!(
        policies = cfg.policies.len(),
        interval_secs = cfg.interval_secs,
        dry_run = cfg.dry_run,
        "autoscaler started"
    );

    let started = Instant::now();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(cfg.interval_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let _ = controller.round(started.elapsed()).await;
            }
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("autoscaler stopped");
    Ok(())
}
