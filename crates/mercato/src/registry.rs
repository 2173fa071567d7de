//! This process's registration in etcd: one entry per service it runs, at
//! the address other hosts reach it by, kept alive by a lease.

use platform::{
    config::DiscoveryConfig,
    discovery::{Etcd, Registration, RegistryStatus},
};

/// The services this process registers, and where.
pub(crate) struct Registry {
    pub(crate) etcd: Etcd,
    pub(crate) cfg: DiscoveryConfig,
    /// Each service's name and the path prefixes the gateway routes to it.
    pub(crate) services: Vec<(&'static str, &'static [&'static str])>,
    pub(crate) status: RegistryStatus,
}

impl Registry {
    /// One registration per service this process runs, at the address
    /// others reach it by.
    pub(crate) async fn registrations(
        &self,
        listening: std::net::SocketAddr,
    ) -> anyhow::Result<Vec<Registration>> {
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
            .services
            .iter()
            .map(|&(service, prefixes)| Registration {
                service: service.to_owned(),
                instance: format!("{service}-{instance}"),
                url: url.clone(),
                rule: platform::discovery::path_rule(prefixes),
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
