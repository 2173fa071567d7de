//! The event backbone against real databases (SQLite, PostgreSQL) and a
//! real NATS JetStream server, and the in-process bus.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::{sync::Arc, time::Duration};

use eventbus::{
    Envelope, EventBus, EventBusConfig, Subscription,
    bus::BusError,
    outbox::{Outbox, run_relay},
};
use futures::future::BoxFuture;
use testkit::{
    Backend,
    events::{Happened, Recorder, ScratchDb, assert_once_and_in_order},
    nats::NatsServer,
};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bus {
    InProcess,
    Nats,
}

macro_rules! on_every_store_and_bus {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_in_process() { super::$name(Backend::Sqlite, Bus::InProcess).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_nats() { super::$name(Backend::Sqlite, Bus::Nats).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_in_process() { super::$name(Backend::Postgres, Bus::InProcess).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_nats() { super::$name(Backend::Postgres, Bus::Nats).await }
        }
    )*};
}

on_every_store_and_bus!(
    every_event_arrives_once_after_the_relay_dies_between_publish_and_mark,
    a_handler_failing_twice_applies_its_effect_once,
    a_poisoned_event_is_dead_lettered_and_the_consumer_goes_on,
    ten_thousand_events_from_eight_writers_arrive_once_and_in_order_per_aggregate,
);

struct Rig {
    scratch: ScratchDb,
    outbox: Arc<Outbox>,
    bus: Arc<dyn EventBus>,
    cfg: EventBusConfig,
    nats: Option<NatsServer>,
    shutdown: CancellationToken,
}

impl Rig {
    async fn new(backend: Backend, bus: Bus) -> Self {
        let scratch = ScratchDb::new(backend).await;
        let nats = (bus == Bus::Nats).then(NatsServer::start);
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = testkit::plumbing_config(backend, dir.path()).eventbus;
        cfg.nats_url = nats.as_ref().map(NatsServer::url);
        let bus = eventbus::bus::connect(&cfg).await.unwrap();
        let outbox = Outbox::new(scratch.db.clone(), "test");
        Self {
            scratch,
            outbox,
            bus,
            cfg,
            nats,
            shutdown: CancellationToken::new(),
        }
    }

    async fn subscribe(&self, recorder: Arc<Recorder>) {
        let subscription = Subscription::new("test", "recorder", &["test.happened"]);
        self.bus
            .subscribe(subscription, recorder, self.shutdown.clone())
            .await
            .unwrap();
    }

    fn start_relay(&self, bus: Arc<dyn EventBus>) -> CancellationToken {
        let stop = self.shutdown.child_token();
        tokio::spawn(run_relay(
            self.outbox.clone(),
            bus,
            self.cfg.clone(),
            stop.clone(),
        ));
        stop
    }

    /// Writes one event in its own transaction, as a service would.
    async fn produce(&self, key: &str, n: i64) -> Envelope {
        let event = Envelope::new("test", key, &Happened { n }).unwrap();
        let mut tx = self.scratch.db.begin_write().await.unwrap();
        self.outbox.append(&mut tx, &event).await.unwrap();
        self.outbox.commit(tx).await.unwrap();
        event
    }

    async fn stream_messages(&self, stream: &str) -> u64 {
        let client = async_nats::connect(self.nats.as_ref().unwrap().url())
            .await
            .unwrap();
        let js = async_nats::jetstream::new(client);
        js.get_stream(stream)
            .await
            .unwrap()
            .info()
            .await
            .unwrap()
            .state
            .messages
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Publishes through the real bus, then "dies": its relay is cancelled
/// before it can mark the rows published.
struct DiesAfterPublish {
    inner: Arc<dyn EventBus>,
    relay: CancellationToken,
}

impl EventBus for DiesAfterPublish {
    fn publish<'a>(&'a self, events: &'a [Envelope]) -> BoxFuture<'a, Result<(), BusError>> {
        Box::pin(async move {
            self.inner.publish(events).await?;
            self.relay.cancel();
            Err(BusError::Publish("process died".into()))
        })
    }
    fn subscribe(
        &self,
        subscription: Subscription,
        handler: Arc<dyn eventbus::Handler>,
        shutdown: CancellationToken,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        self.inner.subscribe(subscription, handler, shutdown)
    }
    fn is_ready(&self) -> BoxFuture<'_, bool> {
        self.inner.is_ready()
    }
    fn kind(&self) -> &'static str {
        "dies-after-publish"
    }
}

async fn every_event_arrives_once_after_the_relay_dies_between_publish_and_mark(
    backend: Backend,
    bus: Bus,
) {
    let rig = Rig::new(backend, bus).await;
    let recorder = Arc::new(Recorder::new(rig.scratch.db.clone(), "test-recorder"));
    rig.subscribe(recorder.clone()).await;
    for n in 0..20 {
        rig.produce(&format!("k{}", n % 4), n).await;
    }
    // The first relay publishes everything and dies before marking.
    let doomed = CancellationToken::new();
    let dying: Arc<dyn EventBus> = Arc::new(DiesAfterPublish {
        inner: rig.bus.clone(),
        relay: doomed.clone(),
    });
    let handle = tokio::spawn(run_relay(
        rig.outbox.clone(),
        dying,
        rig.cfg.clone(),
        doomed.clone(),
    ));
    handle.await.unwrap();
    assert_eq!(
        rig.outbox.pending_count().await.unwrap(),
        20,
        "nothing may be marked by the dead relay"
    );

    // A restarted relay publishes them again; nothing is applied twice.
    rig.start_relay(rig.bus.clone());
    let applied = recorder.wait_for(20, Duration::from_secs(20)).await;
    assert_once_and_in_order(&applied, 20);
    wait_until_published(&rig).await;
    if bus == Bus::Nats {
        assert_eq!(
            rig.stream_messages(&rig.cfg.stream).await,
            20,
            "JetStream kept a duplicate"
        );
    }
}

async fn wait_until_published(rig: &Rig) {
    for _ in 0..200 {
        if rig.outbox.pending_count().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("outbox rows stayed pending");
}

async fn a_handler_failing_twice_applies_its_effect_once(backend: Backend, bus: Bus) {
    let rig = Rig::new(backend, bus).await;
    let recorder =
        Arc::new(Recorder::new(rig.scratch.db.clone(), "test-recorder").failing_first(2));
    rig.subscribe(recorder.clone()).await;
    rig.start_relay(rig.bus.clone());
    let event = rig.produce("flaky", 1).await;
    let applied = recorder.wait_for(1, Duration::from_secs(20)).await;
    assert_once_and_in_order(&applied, 1);
    assert_eq!(recorder.attempts(event.id), 3);
}

async fn a_poisoned_event_is_dead_lettered_and_the_consumer_goes_on(backend: Backend, bus: Bus) {
    let rig = Rig::new(backend, bus).await;
    let recorder = Arc::new(Recorder::new(rig.scratch.db.clone(), "test-recorder").poisoned("bad"));
    rig.subscribe(recorder.clone()).await;
    rig.start_relay(rig.bus.clone());
    let poison = rig.produce("bad", 1).await;
    let good = rig.produce("good", 1).await;
    let applied = recorder.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].event_id, good.id.to_string());
    // Give the poisoned one time to exhaust its deliveries.
    for _ in 0..100 {
        if recorder.attempts(poison.id) >= rig.cfg.max_deliver {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        recorder.attempts(poison.id),
        rig.cfg.max_deliver,
        "tried exactly max_deliver times"
    );
    if bus == Bus::Nats {
        let dlq = eventbus::nats::dlq_stream(&rig.cfg);
        assert_eq!(
            rig.stream_messages(&dlq).await,
            1,
            "the dead letter is stored"
        );
    }
    // The consumer is not stuck: later events still flow.
    rig.produce("good", 2).await;
    assert_eq!(recorder.wait_for(2, Duration::from_secs(20)).await.len(), 2);
}

async fn ten_thousand_events_from_eight_writers_arrive_once_and_in_order_per_aggregate(
    backend: Backend,
    bus: Bus,
) {
    let rig = Arc::new(Rig::new(backend, bus).await);
    let recorder = Arc::new(Recorder::new(rig.scratch.db.clone(), "test-recorder"));
    rig.subscribe(recorder.clone()).await;
    rig.start_relay(rig.bus.clone());
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let rig = rig.clone();
            tokio::spawn(async move {
                for n in 0..1250 {
                    rig.produce(&format!("w{w}-k{}", n % 10), n).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let applied = recorder.wait_for(10_000, Duration::from_secs(120)).await;
    assert_once_and_in_order(&applied, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starting_service_waits_for_nats() {
    let mut nats = NatsServer::start();
    nats.stop();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = testkit::plumbing_config(Backend::Sqlite, dir.path()).eventbus;
    cfg.nats_url = Some(nats.url());
    let connecting = tokio::spawn(async move { eventbus::bus::connect(&cfg).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !connecting.is_finished(),
        "it keeps trying while NATS is away"
    );
    nats.resume();
    let bus = connecting.await.unwrap().unwrap();
    assert!(bus.is_ready().await);
}
