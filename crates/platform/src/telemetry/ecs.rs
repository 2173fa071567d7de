//! Logs as Elastic Common Schema JSON lines on stdout, ready for a shipper
//! (Filebeat, rsyslog) and Elasticsearch.
//!
//! Span fields are written into every event inside the span, so the request
//! id, trace id, method and path of a request appear on each of its lines.
//! Fields meant for the OpenTelemetry layer (`otel.*`) are left out.

use std::io::Write as _;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

/// Writes each event as one ECS JSON object on stdout.
pub struct EcsLayer {
    service_name: String,
}

impl EcsLayer {
    /// A layer tagging every line with `service.name`.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
        }
    }

    /// Renders one event as an ECS object (split out so it can be tested).
    fn render<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> Map<String, Value>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut line = Map::new();
        let timestamp = time::OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        line.insert("@timestamp".into(), Value::String(timestamp));
        line.insert(
            "log.level".into(),
            Value::String(event.metadata().level().as_str().to_ascii_lowercase()),
        );
        line.insert(
            "log.logger".into(),
            Value::String(event.metadata().target().to_owned()),
        );
        line.insert(
            "service.name".into(),
            Value::String(self.service_name.clone()),
        );
        line.insert("ecs.version".into(), Value::String("8.11.0".into()));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let message = fields
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        line.extend(fields);
        line.insert("message".into(), message);
        line
    }
}

struct SpanFields(Map<String, Value>);

impl<S> Layer<S> for EcsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        fields.retain(|name, _| !name.starts_with("otel."));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(&mut JsonVisitor(&mut fields.0));
            fields.0.retain(|name, _| !name.starts_with("otel."));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let line = self.render(event, &ctx);
        if let Ok(mut text) = serde_json::to_vec(&line) {
            text.push(b'\n');
            // A failed write to stdout has nowhere better to be reported.
            let _ = std::io::stdout().lock().write_all(&text);
        }
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Captures rendered lines instead of writing them to stdout.
    struct Capture(EcsLayer, Arc<Mutex<Vec<Map<String, Value>>>>);

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
        fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
            self.0.on_new_span(attrs, id, ctx);
        }
        fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
            self.0.on_record(id, values, ctx);
        }
        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            self.1.lock().unwrap().push(self.0.render(event, &ctx));
        }
    }

    #[test]
    fn lines_carry_ecs_fields_and_span_context() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber =
            tracing_subscriber::registry().with(Capture(EcsLayer::new("users"), lines.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "req",
                http.request.id = "r-1",
                url.path = "/x",
                otel.kind = "server"
            );
            let _guard = span.enter();
            tracing::info!(http.response.status_code = 200u16, "request completed");
        });
        let lines = lines.lock().unwrap();
        let line = &lines[0];
        assert_eq!(line["message"], "request completed");
        assert_eq!(line["log.level"], "info");
        assert_eq!(line["service.name"], "users");
        assert_eq!(line["http.request.id"], "r-1");
        assert_eq!(line["url.path"], "/x");
        assert!(line.get("otel.kind").is_none(), "{line:?}");
        assert_eq!(line["http.response.status_code"], 200);
        assert!(line["@timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
