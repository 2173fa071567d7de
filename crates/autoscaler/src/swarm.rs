//! Swarm services through the Docker Engine API (a manager's socket).

use anyhow::Context as _;
use bollard::{
    Docker,
    query_parameters::{InspectServiceOptions, UpdateServiceOptionsBuilder},
};

use crate::controller::Orchestrator;

/// A Swarm manager.
#[derive(Debug, Clone)]
pub struct Swarm {
    docker: Docker,
}

impl Swarm {
    /// Connects to `DOCKER_HOST` or the local socket, speaking the
    /// engine's own API version.
    pub async fn connect() -> anyhow::Result<Self> {
        let docker = Docker::connect_with_local_defaults()
            .context("connecting to the Docker engine")?
            .negotiate_version()
            .await
            .context("asking the Docker engine its API version")?;
        Ok(Self { docker })
    }
}

impl Orchestrator for Swarm {
    async fn replicas(&self, service: &str) -> anyhow::Result<u32> {
        let found = self
            .docker
            .inspect_service(service, None::<InspectServiceOptions>)
            .await
            .with_context(|| format!("inspecting service {service}"))?;
        let replicas = found
            .spec
            .and_then(|s| s.mode)
            .and_then(|m| m.replicated)
            .and_then(|r| r.replicas)
            .with_context(|| format!("{service} is not a replicated service"))?;
        u32::try_from(replicas).with_context(|| format!("{service}: {replicas} replicas"))
    }

    async fn scale(&self, service: &str, replicas: u32) -> anyhow::Result<()> {
        // The update names the version it read: a change made in between
        // (a deploy, another scale) makes it fail instead of undoing it.
        let found = self
            .docker
            .inspect_service(service, None::<InspectServiceOptions>)
            .await
            .with_context(|| format!("inspecting service {service}"))?;
        let version = found
            .version
            .and_then(|v| v.index)
            .with_context(|| format!("{service} has no version"))?;
        let mut spec = found
            .spec
            .with_context(|| format!("{service} has no spec"))?;
        let replicated = spec
            .mode
            .as_mut()
            .and_then(|m| m.replicated.as_mut())
            .with_context(|| format!("{service} is not a replicated service"))?;
        replicated.replicas = Some(i64::from(replicas));
        let options = UpdateServiceOptionsBuilder::new()
            .version(i32::try_from(version).context("service version")?)
            .build();
        self.docker
            .update_service(service, spec, options, None)
            .await
            .with_context(|| format!("scaling {service} to {replicas}"))?;
        Ok(())
    }
}
