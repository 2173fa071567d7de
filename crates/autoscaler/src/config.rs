//! The autoscaler's settings: a TOML file (`--config`), then
//! `MERCATO_AUTOSCALER__*` variables over it.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::policy::Policy;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Prometheus's base URL, e.g. `http://prometheus:9090`.
    pub prometheus_url: String,
    /// Seconds between two rounds of decisions.
    #[serde(default = "fifteen")]
    pub interval_secs: u64,
    /// Decide and report, but change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Where `/metrics` and `/health/live` are served.
    #[serde(default = "listen")]
    pub listen: String,
    /// One per scaled service.
    pub policies: Vec<Policy>,
}

fn fifteen() -> u64 {
    15
}

fn listen() -> String {
    "0.0.0.0:9108".into()
}

impl Config {
    /// Reads `file` with the environment over it, and checks it.
    pub fn load(file: &Path) -> anyhow::Result<Self> {
        let cfg: Self = config::Config::builder()
            .add_source(config::File::from(file))
            .add_source(config::Environment::with_prefix("MERCATO_AUTOSCALER").separator("__"))
            .build()
            .and_then(config::Config::try_deserialize)
            .with_context(|| format!("reading {}", file.display()))?;
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.interval_secs >= 1, "interval_secs must be at least 1");
        anyhow::ensure!(!self.policies.is_empty(), "no policies");
        for policy in &self.policies {
            policy.check().map_err(anyhow::Error::msg)?;
        }
        let mut names: Vec<&str> = self.policies.iter().map(|p| p.service.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            anyhow::bail!("two policies for {}", pair[0]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_swarm_policies_load() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/swarm/autoscaler.toml");
        let cfg = Config::load(&file).map_err(|e| format!("{e:#}"));
        let cfg = match cfg {
            Ok(cfg) => cfg,
            Err(e) => panic!("{e}"),
        };
        let services: Vec<&str> = cfg.policies.iter().map(|p| p.service.as_str()).collect();
        assert_eq!(
            services,
            [
                "mercato_users",
                "mercato_catalog",
                "mercato_cart",
                "mercato_orders",
                "mercato_payments",
                "mercato_notifications"
            ]
        );
        assert!(cfg.policies.iter().all(|p| p.signals.len() == 2));
        assert!(!cfg.dry_run);
    }
}
