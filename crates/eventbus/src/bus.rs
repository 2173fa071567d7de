//! The bus abstraction shared by the NATS and in-process implementations.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::Envelope;

/// What a consumer wants delivered.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The consuming service, e.g. `notifications`.
    pub service: String,
    /// The subscription's name within the service, e.g. `user-mail`.
    pub name: String,
    /// Event types delivered to it.
    pub event_types: Vec<String>,
}

impl Subscription {
    /// A subscription of `service` named `name` to `event_types`.
    pub fn new(service: &str, name: &str, event_types: &[&str]) -> Self {
        Self {
            service: service.to_owned(),
            name: name.to_owned(),
            event_types: event_types.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    /// `<service>-<name>`: the durable consumer name and the metrics label.
    pub fn id(&self) -> String {
        format!("{}-{}", self.service, self.name)
    }
}

/// Handles one event. An error means "try again later"; after the
/// configured number of deliveries the event is dead-lettered.
pub trait Handler: Send + Sync + 'static {
    /// Applies the event's effect, idempotently (see [`crate::inbox`]).
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Failure to hand events to the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker did not accept or acknowledge the events.
    #[error("publishing failed: {0}")]
    Publish(String),
    /// Setting up a stream or consumer failed.
    #[error("subscribing failed: {0}")]
    Subscribe(String),
}

/// An event bus.
pub trait EventBus: Send + Sync + 'static {
    /// Publishes events in order. Ok means every one was durably accepted
    /// (NATS: acknowledged by JetStream; in-process: handled or
    /// dead-lettered by every subscriber). On error some may have gone
    /// through: publishing again is safe, as ids deduplicate.
    fn publish<'a>(&'a self, events: &'a [Envelope]) -> BoxFuture<'a, Result<(), BusError>>;

    /// Starts delivering matching events to `handler` until `shutdown`.
    fn subscribe(
        &self,
        subscription: Subscription,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> BoxFuture<'_, Result<(), BusError>>;

    /// Does the bus answer? For `/health/ready`.
    fn is_ready(&self) -> BoxFuture<'_, bool>;

    /// `nats` or `in-process`, for logs and health.
    fn kind(&self) -> &'static str;
}

/// Builds the bus the configuration asks for.
pub async fn connect(cfg: &crate::EventBusConfig) -> anyhow::Result<Arc<dyn EventBus>> {
    Ok(match &cfg.nats_url {
        Some(url) => Arc::new(crate::nats::NatsBus::connect(url, cfg).await?),
        None => Arc::new(crate::memory::InProcessBus::new(cfg.clone())),
    })
}

/// Runs a handler inside a span carrying the event's ids and its trace id,
/// so the handler's logs and the events it emits link back to the request.
pub(crate) async fn run_handler(
    handler: &dyn Handler,
    subscription: &str,
    event: &Envelope,
) -> anyhow::Result<()> {
    use tracing::Instrument as _;
    let span = tracing::info_span!(
        "event",
        subscription,
        event.id = %event.id,
        event.type = %event.event_type,
        trace.id = tracing::field::Empty,
        otel.name = %format_args!("process {}", event.event_type),
        otel.kind = "consumer",
        otel.status_code = tracing::field::Empty,
    );
    // A child of the span that emitted the event, in the request's trace.
    let trace_id = platform::telemetry::continue_trace(&span, event.traceparent.as_deref(), || {
        event
            .trace
            .clone()
            .unwrap_or_else(|| event.id.simple().to_string())
    });
    span.record("trace.id", trace_id.as_str());
    let result = platform::telemetry::with_trace_id(
        trace_id,
        handler.handle(event).instrument(span.clone()),
    )
    .await;
    if result.is_err() {
        span.record("otel.status_code", "ERROR");
    }
    result
}

/// A span for publishing `event`, a child of the span that emitted it
/// (none when traces are not exported).
pub(crate) fn publish_span(event: &Envelope) -> tracing::Span {
    if !platform::telemetry::tracing_enabled() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        parent: None,
        "event.publish",
        event.id = %event.id,
        event.type = %event.event_type,
        otel.name = %format_args!("publish {}", event.event_type),
        otel.kind = "producer",
    );
    platform::telemetry::continue_trace(&span, event.traceparent.as_deref(), String::new);
    span
}

/// Records the outcome of one handler run in the metrics and logs.
pub(crate) fn record_failure(
    subscription: &str,
    event: &Envelope,
    attempt: u32,
    error: &anyhow::Error,
) {
    metrics::counter!("eventbus_consume_failed_total", "subscription" => subscription.to_owned(), "type" => event.event_type.clone())
        .increment(1);
    tracing::warn!(
        subscription,
        event.id = %event.id,
        event.type = %event.event_type,
        attempt,
        error.message = %error,
        "event handler failed; will retry or dead-letter"
    );
}

/// Records a dead-lettered event: counted, and logged with the whole
/// envelope so that nothing is lost even without a dead-letter store.
pub(crate) fn record_dead_letter(subscription: &str, event: &Envelope, error: &anyhow::Error) {
    metrics::counter!("eventbus_dead_lettered_total", "subscription" => subscription.to_owned(), "type" => event.event_type.clone())
        .increment(1);
    tracing::error!(
        subscription,
        event.id = %event.id,
        event.type = %event.event_type,
        error.message = %error,
        envelope = %serde_json::to_string(event).unwrap_or_default(),
        "event dead-lettered after its last delivery"
    );
}

/// Records a handled event.
pub(crate) fn record_consumed(subscription: &str, event: &Envelope) {
    metrics::counter!("eventbus_consumed_total", "subscription" => subscription.to_owned(), "type" => event.event_type.clone())
        .increment(1);
}

/// Picks a lane for an aggregate key, so one key is always handled by the
/// same sequential lane (in order) while different keys run in parallel.
pub(crate) fn lane_of(key: &str, lanes: usize) -> usize {
    // FNV-1a: stable across processes and releases, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % lanes.max(1) as u64) as usize
}
