//! The in-process bus of the all-in-one server.
//!
//! It holds nothing durable itself: the outbox row stays unpublished until
//! every subscriber has handled (or dead-lettered) the event, so a crash at
//! any point means the relay publishes it again after the restart, and the
//! consumers' inboxes skip what they had already done.

use std::{collections::HashSet, sync::Arc};

use futures::future::BoxFuture;
use tokio::sync::{RwLock, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    Envelope, EventBusConfig,
    bus::{self, BusError, EventBus, Handler, Subscription},
};

/// Sequential lanes per subscription: events of one aggregate share a lane.
const LANES: usize = 8;
/// Queued events per lane before publishing waits.
const LANE_CAPACITY: usize = 1024;

struct Job {
    event: Arc<Envelope>,
    done: oneshot::Sender<()>,
}

struct LocalSubscription {
    event_types: HashSet<String>,
    lanes: Vec<mpsc::Sender<Job>>,
}

/// Delivers events to subscribers in the same process.
pub struct InProcessBus {
    cfg: EventBusConfig,
    subscriptions: RwLock<Vec<LocalSubscription>>,
}

impl InProcessBus {
    /// A bus with no subscribers yet.
    pub fn new(cfg: EventBusConfig) -> Self {
        Self {
            cfg,
            subscriptions: RwLock::new(Vec::new()),
        }
    }
}

impl EventBus for InProcessBus {
    fn publish<'a>(&'a self, events: &'a [Envelope]) -> BoxFuture<'a, Result<(), BusError>> {
        Box::pin(async move {
            let mut pending = Vec::new();
            {
                let subscriptions = self.subscriptions.read().await;
                for event in events {
                    let event = Arc::new(event.clone());
                    for subscription in subscriptions
                        .iter()
                        .filter(|s| s.event_types.contains(&event.event_type))
                    {
                        let lane =
                            &subscription.lanes[bus::lane_of(&event.key, subscription.lanes.len())];
                        let (done, finished) = oneshot::channel();
                        lane.send(Job {
                            event: event.clone(),
                            done,
                        })
                        .await
                        .map_err(|_| BusError::Publish("a subscriber has stopped".into()))?;
                        pending.push(finished);
                    }
                    metrics::counter!("eventbus_published_total", "bus" => "in-process", "type" => event.event_type.clone())
                        .increment(1);
                }
            }
            for finished in pending {
                finished.await.map_err(|_| {
                    BusError::Publish("a subscriber stopped before handling".into())
                })?;
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
            let mut lanes = Vec::with_capacity(LANES);
            for _ in 0..LANES {
                let (sender, receiver) = mpsc::channel(LANE_CAPACITY);
                lanes.push(sender);
                tokio::spawn(run_lane(
                    id.clone(),
                    receiver,
                    handler.clone(),
                    self.cfg.clone(),
                    shutdown.clone(),
                ));
            }
            let event_types = subscription.event_types.into_iter().collect();
            self.subscriptions
                .write()
                .await
                .push(LocalSubscription { event_types, lanes });
            tracing::info!(subscription = %id, bus = "in-process", "subscribed");
            Ok(())
        })
    }

    fn is_ready(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }

    fn kind(&self) -> &'static str {
        "in-process"
    }
}

async fn run_lane(
    subscription: String,
    mut jobs: mpsc::Receiver<Job>,
    handler: Arc<dyn Handler>,
    cfg: EventBusConfig,
    shutdown: CancellationToken,
) {
    loop {
        let job = tokio::select! {
            job = jobs.recv() => match job { Some(job) => job, None => return },
            () = shutdown.cancelled() => return,
        };
        let mut attempt = 1;
        loop {
            match bus::run_handler(handler.as_ref(), &subscription, &job.event).await {
                Ok(()) => {
                    bus::record_consumed(&subscription, &job.event);
                    break;
                }
                Err(error) => {
                    bus::record_failure(&subscription, &job.event, attempt, &error);
                    if attempt >= cfg.max_deliver {
                        bus::record_dead_letter(&subscription, &job.event, &error);
                        break;
                    }
                    // Dropping the job on shutdown leaves the outbox row
                    // unpublished, so it is delivered again after a restart.
                    tokio::select! {
                        () = tokio::time::sleep(cfg.backoff(attempt)) => {},
                        () = shutdown.cancelled() => return,
                    }
                    attempt += 1;
                    metrics::counter!("eventbus_redelivered_total", "subscription" => subscription.clone()).increment(1);
                }
            }
        }
        let _ = job.done.send(());
    }
}
