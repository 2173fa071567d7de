//! Logs and traces. Every process writes ECS JSON log lines ([`ecs`]); when
//! `telemetry.otlp_endpoint` is set it also exports its spans over OTLP
//! ([`otel`]). Either way each request and event handler knows its W3C trace
//! id: it is in every log line, in the `traceparent` of the calls it makes
//! and in the envelopes of the events it emits, so one checkout can be
//! followed across services and the bus.

mod ecs;
mod otel;

use std::io::IsTerminal as _;

pub use ecs::EcsLayer;
use tracing_subscriber::{EnvFilter, Layer as _, prelude::*};

use crate::config::{LogFormat, TelemetryConfig};

tokio::task_local! {
    static TRACE_ID: String;
}

/// The W3C trace id of the request or event being handled, for putting in
/// the events it causes.
pub fn current_trace_id() -> Option<String> {
    TRACE_ID.try_with(Clone::clone).ok()
}

/// The `traceparent` of the span being run when traces are exported: what
/// an event emitted here carries so that its consumers join the trace
/// under this span. `None` when tracing is off.
pub fn current_traceparent() -> Option<String> {
    otel::current_traceparent()
}

/// A W3C `traceparent` header value for a call made while handling the
/// current request or event: the current span when traces are exported,
/// else a fresh span id in the current trace (so the callee's logs still
/// carry the trace id).
pub fn outgoing_traceparent() -> Option<String> {
    if let Some(traceparent) = otel::current_traceparent() {
        return Some(traceparent);
    }
    let trace = current_trace_id()?;
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut span = [0u8; 8];
    span.copy_from_slice(&bytes[..8]);
    // An all-zero span id is invalid; the low bit makes it non-zero.
    let span = u64::from_le_bytes(span) | 1;
    Some(format!("00-{trace}-{span:016x}-01"))
}

/// Makes `span` continue the trace of `traceparent` (a caller's header, an
/// event's envelope) and returns its trace id: the exported trace's when
/// tracing is on, else the one `traceparent` names, else `otherwise()`.
pub fn continue_trace(
    span: &tracing::Span,
    traceparent: Option<&str>,
    otherwise: impl FnOnce() -> String,
) -> String {
    otel::adopt(span, traceparent)
        .or_else(|| traceparent.and_then(trace_id_of))
        .unwrap_or_else(otherwise)
}

/// Are spans exported? Spans made only for the exporter are skipped when not.
pub fn tracing_enabled() -> bool {
    otel::enabled()
}

/// Runs `work` with `trace_id` as the current trace id.
pub async fn with_trace_id<F: std::future::Future>(trace_id: String, work: F) -> F::Output {
    TRACE_ID.scope(trace_id, work).await
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
pub fn trace_id_of(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    let valid = trace_id.len() == 32
        && trace_id.bytes().all(|b| b.is_ascii_hexdigit())
        && trace_id.bytes().any(|b| b != b'0');
    valid.then(|| trace_id.to_ascii_lowercase())
}

/// Flushes the spans not yet exported; call once when the process stops.
pub fn shutdown() {
    otel::shutdown();
}

/// Installs the global subscriber: log lines, and the span exporter when
/// `otlp_endpoint` is set. A second call (several apps in one test
/// process) keeps the first and is not an error.
pub fn init(cfg: &TelemetryConfig, service_name: &str) -> anyhow::Result<()> {
    if tracing::dispatcher::has_been_set() {
        return Ok(());
    }
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.filter))
        .map_err(|e| anyhow::anyhow!("telemetry.filter `{}` is invalid: {e}", cfg.filter))?;
    let json = match cfg.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let service_name = if cfg.service_name.is_empty() {
        service_name.to_owned()
    } else {
        cfg.service_name.clone()
    };
    let spans = otel::layer(cfg, &service_name)?;
    let logs = if json {
        EcsLayer::new(service_name).with_filter(filter).boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_filter(filter)
            .boxed()
    };
    // Already initialised: keep the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_yields_its_trace_id() {
        let header = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_id_of(header).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_id_of("00-0000-00-01"), None);
        assert_eq!(
            trace_id_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
    }

    #[test]
    fn without_an_exporter_a_trace_is_continued_by_id() {
        let span = tracing::Span::none();
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            continue_trace(&span, Some(header), || "fresh".into()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(continue_trace(&span, None, || "fresh".into()), "fresh");
        assert_eq!(current_traceparent(), None);
    }
}
