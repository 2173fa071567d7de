//! `[eventbus]`: which bus, and how deliveries are retried.

use serde::Deserialize;

/// Settings of the event backbone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBusConfig {
    /// NATS server URL(s), comma-separated; unset means the in-process bus.
    pub nats_url: Option<String>,
    /// JetStream stream holding every platform event.
    pub stream: String,
    /// Stream replicas (1 for one server, 3 in production clusters).
    pub replicas: usize,
    /// JetStream duplicate window in seconds; longer than the relay's longest retry.
    pub duplicate_window_secs: u64,
    /// Deliveries of one event to one consumer before it is dead-lettered.
    pub max_deliver: u32,
    /// Waits between redeliveries, in milliseconds (the last repeats).
    pub redelivery_backoff_ms: Vec<u64>,
    /// The relay's fallback poll for rows written by other processes, in ms;
    /// rows written by this process wake it at once.
    pub relay_poll_ms: u64,
    /// Rows the relay publishes per batch.
    pub relay_batch: u32,
    /// The relay's longest wait between publish retries, in ms.
    pub relay_max_backoff_ms: u64,
}

impl EventBusConfig {
    /// Checks ranges and the retry/dedup relation.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.stream.is_empty(), "eventbus.stream must not be empty");
        anyhow::ensure!(
            (1..=5).contains(&self.replicas),
            "eventbus.replicas must be within 1..=5"
        );
        anyhow::ensure!(
            self.max_deliver >= 1,
            "eventbus.max_deliver must be at least 1"
        );
        anyhow::ensure!(
            !self.redelivery_backoff_ms.is_empty(),
            "eventbus.redelivery_backoff_ms needs at least one wait"
        );
        anyhow::ensure!(
            (1..=10_000).contains(&self.relay_batch),
            "eventbus.relay_batch must be within 1..=10000"
        );
        anyhow::ensure!(
            self.relay_poll_ms >= 10,
            "eventbus.relay_poll_ms must be at least 10"
        );
        anyhow::ensure!(
            self.duplicate_window_secs * 1000 > self.relay_max_backoff_ms * 2,
            "eventbus.duplicate_window_secs must exceed twice eventbus.relay_max_backoff_ms, \
             or a retried publish could slip past deduplication"
        );
        if let Some(url) = &self.nats_url {
            anyhow::ensure!(
                url.split(',')
                    .all(|u| u.trim().starts_with("nats://") || u.trim().starts_with("tls://")),
                "eventbus.nats_url must be nats:// or tls:// URL(s)"
            );
        }
        Ok(())
    }

    /// The wait before redelivery number `attempt` (1 = after the first failure).
    pub fn backoff(&self, attempt: u32) -> std::time::Duration {
        let index = (attempt.saturating_sub(1) as usize)
            .min(self.redelivery_backoff_ms.len().saturating_sub(1));
        std::time::Duration::from_millis(
            self.redelivery_backoff_ms
                .get(index)
                .copied()
                .unwrap_or(1000),
        )
    }
}
