//! The NATS JetStream bus.
//!
//! One stream (`MERCATO`, subjects `mercato.>`, file storage) holds every
//! event; publishing sets `Nats-Msg-Id` to the event id so the server drops
//! a duplicate within the stream's duplicate window. Each subscription is a
//! durable pull consumer with explicit acks. Handlers run in sequential
//! lanes by aggregate key, so one aggregate's events are handled in order
//! while others proceed. A failed handler is retried in place with backoff
//! (keeping the order); after `max_deliver` deliveries the event goes to
//! `mercato_dlq.<subscription>` in the `<stream>_DLQ` stream and the
//! consumer moves on.
//!
//! The NATS server Mercato configures sets `sync_interval: always`: Jepsen
//! found acknowledged JetStream writes lost under the default two-minute
//! fsync. Every acknowledged event is on disk, at the price of one fsync
//! per write batch.

use std::{sync::Arc, time::Duration};

use async_nats::{
    HeaderMap,
    jetstream::{
        self, AckKind, Context,
        consumer::{AckPolicy, PullConsumer, pull},
        message::PublishMessage,
        stream::{self, StorageType},
    },
};
use futures::{StreamExt as _, future::BoxFuture};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    Envelope, EventBusConfig,
    bus::{self, BusError, EventBus, Handler, Subscription},
};

/// How long a starting service waits for NATS before it gives up.
const STARTUP_PATIENCE: Duration = Duration::from_secs(30);

/// Sequential lanes per subscription.
const LANES: usize = 8;
/// How long the server waits for an ack before redelivering (a crashed
/// consumer's events come back after this).
const ACK_WAIT: Duration = Duration::from_secs(30);

/// A JetStream-backed bus.
pub struct NatsBus {
    client: async_nats::Client,
    jetstream: Context,
    cfg: EventBusConfig,
}

impl NatsBus {
    /// Connects and creates the streams if missing (idempotent).
    pub async fn connect(url: &str, cfg: &EventBusConfig) -> anyhow::Result<Self> {
        // Containers start in any order: wait for NATS a while before giving up.
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(200);
        loop {
            let attempt = async {
                let client = async_nats::ConnectOptions::new()
                    .name("mercato")
                    .connection_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await
                    .map_err(|e| anyhow::anyhow!("connecting to NATS at {url}: {e}"))?;
                let jetstream = jetstream::new(client.clone());
                let bus = Self {
                    client,
                    jetstream,
                    cfg: cfg.clone(),
                };
                bus.ensure_streams().await?;
                anyhow::Ok(bus)
            };
            match attempt.await {
                Ok(bus) => return Ok(bus),
                Err(e) if started.elapsed() < STARTUP_PATIENCE => {
                    tracing::warn!(error.message = %e, retry_in_ms = wait.as_millis() as u64, "NATS not ready yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn ensure_streams(&self) -> anyhow::Result<()> {
        let replicas = self.cfg.replicas;
        let window = Duration::from_secs(self.cfg.duplicate_window_secs);
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: self.cfg.stream.clone(),
                subjects: vec!["mercato.>".into()],
                storage: StorageType::File,
                num_replicas: replicas,
                duplicate_window: window,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("creating stream {}: {e}", self.cfg.stream))?;
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: dlq_stream(&self.cfg),
                subjects: vec!["mercato_dlq.>".into()],
                storage: StorageType::File,
                num_replicas: replicas,
                duplicate_window: window,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("creating stream {}: {e}", dlq_stream(&self.cfg)))?;
        Ok(())
    }

    /// The JetStream context (for tests and tools reading the dead letters).
    pub fn jetstream(&self) -> &Context {
        &self.jetstream
    }
}

/// The dead-letter stream's name.
pub fn dlq_stream(cfg: &EventBusConfig) -> String {
    format!("{}_DLQ", cfg.stream)
}

/// The dead-letter subject of a subscription.
pub fn dlq_subject(subscription_id: &str) -> String {
    format!("mercato_dlq.{subscription_id}")
}

impl EventBus for NatsBus {
    fn publish<'a>(&'a self, events: &'a [Envelope]) -> BoxFuture<'a, Result<(), BusError>> {
        Box::pin(async move {
            // Send them all, then await the acks: pipelined, still in order.
            let mut acks = Vec::with_capacity(events.len());
            for event in events {
                let payload =
                    serde_json::to_vec(event).map_err(|e| BusError::Publish(e.to_string()))?;
                let message = PublishMessage::build()
                    .payload(payload.into())
                    .message_id(event.id.to_string());
                let ack = self
                    .jetstream
                    .send_publish(event.subject(), message)
                    .await
                    .map_err(|e| BusError::Publish(e.to_string()))?;
                acks.push(ack);
            }
            for (ack, event) in acks.into_iter().zip(events) {
                ack.await.map_err(|e| BusError::Publish(e.to_string()))?;
                metrics::counter!("eventbus_published_total", "bus" => "nats", "type" => event.event_type.clone())
                    .increment(1);
            }
            Ok(())
        })
    }

    fn subscribe(
        &self,
        subscription: Subscription,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let id = subscription.id();
            let stream = self
                .jetstream
                .get_stream(&self.cfg.stream)
                .await
                .map_err(|e| BusError::Subscribe(e.to_string()))?;
            let consumer: PullConsumer = stream
                .get_or_create_consumer(
                    &id,
                    pull::Config {
                        durable_name: Some(id.clone()),
                        filter_subjects: subscription
                            .event_types
                            .iter()
                            .map(|t| crate::envelope::subject_for(t))
                            .collect(),
                        ack_policy: AckPolicy::Explicit,
                        ack_wait: ACK_WAIT,
                        // Unlimited on the server: this code counts deliveries and
                        // dead-letters, so nothing is ever dropped silently.
                        max_deliver: -1,
                        max_ack_pending: 1024,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| BusError::Subscribe(e.to_string()))?;
            let messages = consumer
                .messages()
                .await
                .map_err(|e| BusError::Subscribe(e.to_string()))?;
            let worker = Worker {
                id: id.clone(),
                handler,
                jetstream: self.jetstream.clone(),
                cfg: self.cfg.clone(),
            };
            tokio::spawn(dispatch(Arc::new(worker), messages, shutdown.clone()));
            tokio::spawn(report_lag(id.clone(), consumer, shutdown));
            tracing::info!(subscription = %id, bus = "nats", "subscribed");
            Ok(())
        })
    }

    fn is_ready(&self) -> BoxFuture<'_, bool> {
        Box::pin(async {
            self.client.connection_state() == async_nats::connection::State::Connected
        })
    }

    fn kind(&self) -> &'static str {
        "nats"
    }
}

struct Worker {
    id: String,
    handler: Arc<dyn Handler>,
    jetstream: Context,
    cfg: EventBusConfig,
}

async fn dispatch(worker: Arc<Worker>, mut messages: pull::Stream, shutdown: CancellationToken) {
    let mut lanes = Vec::with_capacity(LANES);
    for _ in 0..LANES {
        let (sender, receiver) = mpsc::channel::<jetstream::Message>(256);
        lanes.push(sender);
        tokio::spawn(run_lane(worker.clone(), receiver, shutdown.clone()));
    }
    loop {
        let next = tokio::select! {
            next = messages.next() => next,
            () = shutdown.cancelled() => return,
        };
        match next {
            Some(Ok(message)) => {
                let key = serde_json::from_slice::<Envelope>(&message.payload)
                    .map(|e| e.key)
                    .unwrap_or_default();
                if lanes[bus::lane_of(&key, lanes.len())]
                    .send(message)
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(Err(e)) => {
                // The client reconnects by itself; the stream resumes.
                tracing::warn!(subscription = %worker.id, error.message = %e, "pulling messages failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            None => return,
        }
    }
}

async fn run_lane(
    worker: Arc<Worker>,
    mut messages: mpsc::Receiver<jetstream::Message>,
    shutdown: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            message = messages.recv() => match message { Some(m) => m, None => return },
            () = shutdown.cancelled() => return,
        };
        worker.process(message, &shutdown).await;
    }
}

impl Worker {
    async fn process(&self, message: jetstream::Message, shutdown: &CancellationToken) {
        let event = match serde_json::from_slice::<Envelope>(&message.payload) {
            Ok(event) => event,
            Err(e) => {
                tracing::error!(subscription = %self.id, error.message = %e, "unreadable event; dead-lettering");
                self.dead_letter(&message, None, &anyhow::anyhow!("unreadable envelope: {e}"))
                    .await;
                return;
            }
        };
        // Deliveries so far, counting the server's redeliveries (after a
        // crash or an ack timeout) and this process's retries in place.
        let mut attempt = message
            .info()
            .map(|i| u32::try_from(i.delivered).unwrap_or(1))
            .unwrap_or(1);
        loop {
            match bus::run_handler(self.handler.as_ref(), &self.id, &event).await {
                Ok(()) => {
                    if let Err(e) = message.ack().await {
                        tracing::warn!(subscription = %self.id, event.id = %event.id, error.message = %e, "ack failed; the event will be redelivered and skipped");
                    }
                    bus::record_consumed(&self.id, &event);
                    return;
                }
                Err(error) => {
                    bus::record_failure(&self.id, &event, attempt, &error);
                    if attempt >= self.cfg.max_deliver {
                        self.dead_letter(&message, Some(&event), &error).await;
                        return;
                    }
                    // Retry in place, so later events of this aggregate wait
                    // their turn; tell the server we are still working on it.
                    let _ = message.ack_with(AckKind::Progress).await;
                    tokio::select! {
                        () = tokio::time::sleep(self.cfg.backoff(attempt)) => {},
                        () = shutdown.cancelled() => return,
                    }
                    attempt += 1;
                    metrics::counter!("eventbus_redelivered_total", "subscription" => self.id.clone()).increment(1);
                }
            }
        }
    }

    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        event: Option<&Envelope>,
        error: &anyhow::Error,
    ) {
        let mut headers = HeaderMap::new();
        headers.insert("Mercato-Subscription", self.id.as_str());
        headers.insert(
            "Mercato-Error",
            error.to_string().replace(['\r', '\n'], " ").as_str(),
        );
        headers.insert("Mercato-Subject", message.subject.as_str());
        let mut publish = PublishMessage::build()
            .payload(message.payload.clone())
            .headers(headers);
        if let Some(event) = event {
            publish = publish.message_id(format!("{}:{}", self.id, event.id));
        }
        let stored = match self
            .jetstream
            .send_publish(dlq_subject(&self.id), publish)
            .await
        {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        };
        if !stored {
            // Not safely in the dead-letter stream: leave it unacked so the
            // server redelivers it rather than losing it.
            tracing::error!(subscription = %self.id, "storing a dead letter failed; the event stays pending");
            let _ = message
                .ack_with(AckKind::Nak(Some(self.cfg.backoff(self.cfg.max_deliver))))
                .await;
            return;
        }
        if let Some(event) = event {
            bus::record_dead_letter(&self.id, event, error);
        }
        if let Err(e) = message.ack_with(AckKind::Term).await {
            tracing::warn!(subscription = %self.id, error.message = %e, "terminating a dead-lettered message failed");
        }
    }
}

async fn report_lag(id: String, mut consumer: PullConsumer, shutdown: CancellationToken) {
    let gauge = metrics::gauge!("eventbus_consumer_lag", "subscription" => id);
    loop {
        if let Ok(info) = consumer.info().await {
            gauge.set((info.num_pending + info.num_ack_pending as u64) as f64);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(5)) => {},
            () = shutdown.cancelled() => return,
        }
    }
}
