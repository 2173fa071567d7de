//! Spans exported over OTLP/HTTP (protobuf) to `telemetry.otlp_endpoint`:
//! every `tracing` span at info level or above becomes an OpenTelemetry
//! span, and the info-or-above log events inside it its span events. W3C trace context joins callers, callees and event consumers.

use std::{
    collections::HashMap,
    sync::{
        OnceLock,
        atomic::{AtomicBool, Ordering},
    },
};

use anyhow::Context as _;
use opentelemetry::{
    Context, KeyValue,
    propagation::{Extractor, TextMapPropagator as _},
    trace::{Link, SpanKind, TraceContextExt as _, TraceId, TraceState, TracerProvider as _},
};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{Sampler, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample},
};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{Layer, filter::LevelFilter, registry::LookupSpan};

use crate::config::TelemetryConfig;

static ENABLED: AtomicBool = AtomicBool::new(false);
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The routes probes call (the gateway's health check every second per
/// instance, Prometheus's scrapes): not traced, they would be most traces
/// and tell nothing.
const PROBES: &[&str] = &["/health/live", "/health/ready", "/metrics"];

/// Drops the spans of probe requests, and leaves every other decision to
/// the configured sampler.
#[derive(Debug, Clone)]
struct WithoutProbes(Sampler);

impl ShouldSample for WithoutProbes {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let probe = attributes.iter().any(|kv| {
            kv.key.as_str() == "http.route" && PROBES.contains(&kv.value.as_str().as_ref())
        });
        if probe {
            return SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: TraceState::default(),
            };
        }
        self.0
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

/// The exporting layer, or `None` when no endpoint is configured.
pub(super) fn layer<S>(
    cfg: &TelemetryConfig,
    service_name: &str,
) -> anyhow::Result<Option<Box<dyn Layer<S> + Send + Sync>>>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let endpoint = cfg.otlp_endpoint.trim_end_matches('/');
    if endpoint.is_empty() {
        return Ok(None);
    }
    anyhow::ensure!(
        (0.0..=1.0).contains(&cfg.sampling_ratio),
        "telemetry.sampling_ratio must be between 0 and 1, not {}",
        cfg.sampling_ratio
    );
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .with_context(|| format!("telemetry.otlp_endpoint `{endpoint}`"))?;
    // A caller's sampling decision is kept, so a trace is whole or absent.
    let sampler = WithoutProbes(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
        cfg.sampling_ratio,
    ))));
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    let tracer = provider.tracer("mercato");
    let _ = PROVIDER.set(provider);
    ENABLED.store(true, Ordering::Relaxed);
    Ok(Some(
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_tracked_inactivity(false)
            // A level, not a `filter_fn` that also dropped events: with that,
            // some spans got no OpenTelemetry data (tracing-subscriber
            // 0.3.23), so their children and events lost the trace.
            .with_filter(LevelFilter::INFO)
            .boxed(),
    ))
}

pub(super) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Parents `span` on `traceparent` and returns the trace id it belongs to.
pub(super) fn adopt(span: &tracing::Span, traceparent: Option<&str>) -> Option<String> {
    if !enabled() {
        return None;
    }
    if let Some(traceparent) = traceparent {
        let parent = TraceContextPropagator::new().extract(&Traceparent(traceparent));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
    }
    let context = span.context();
    let trace_id = context.span().span_context().trace_id();
    (trace_id != opentelemetry::trace::TraceId::INVALID).then(|| trace_id.to_string())
}

/// The current span as a `traceparent`.
pub(super) fn current_traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

pub(super) fn shutdown() {
    if let Some(provider) = PROVIDER.get()
        && let Err(e) = provider.shutdown()
    {
        eprintln!("telemetry: flushing spans failed: {e}");
    }
}

/// A carrier holding one `traceparent`.
struct Traceparent<'a>(&'a str);

impl Extractor for Traceparent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(route: &str) -> SamplingDecision {
        WithoutProbes(Sampler::AlwaysOn)
            .should_sample(
                None,
                TraceId::from_bytes([7; 16]),
                "GET",
                &SpanKind::Server,
                &[KeyValue::new("http.route", route.to_owned())],
                &[],
            )
            .decision
    }

    #[test]
    fn probes_are_not_traced_and_the_rest_is_left_to_the_sampler() {
        for probe in PROBES {
            assert_eq!(decision(probe), SamplingDecision::Drop, "{probe}");
        }
        assert_eq!(
            decision("/api/v1/orders"),
            SamplingDecision::RecordAndSample
        );
    }
}
