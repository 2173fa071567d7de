//! The envelope every event travels in.

use contracts::events::Event;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The envelope format version; bumped only for incompatible changes.
pub const ENVELOPE_VERSION: u16 = 1;

/// `{version, id, type, source, key, occurred_at, data, trace}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Envelope format version.
    pub version: u16,
    /// Unique event id (UUIDv7); the deduplication key everywhere.
    pub id: Uuid,
    /// Event type, e.g. `user.registered` (see `contracts::events`).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The service that emitted it.
    pub source: String,
    /// The aggregate it is about (user id, order id); delivery is in order per key.
    pub key: String,
    /// When the change happened.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The payload.
    pub data: serde_json::Value,
    /// W3C trace id of the request that caused it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// W3C `traceparent` of the span that emitted it, when traces are
    /// exported: its consumers' spans are children of that span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Envelope {
    /// Wraps a payload, in the trace of the request or event being handled.
    pub fn new<E: Event>(source: &str, key: impl ToString, event: &E) -> serde_json::Result<Self> {
        Ok(Self {
            version: ENVELOPE_VERSION,
            id: Uuid::now_v7(),
            event_type: E::TYPE.to_owned(),
            source: source.to_owned(),
            key: key.to_string(),
            occurred_at: OffsetDateTime::now_utc(),
            data: serde_json::to_value(event)?,
            trace: platform::telemetry::current_trace_id(),
            traceparent: platform::telemetry::current_traceparent(),
        })
    }

    /// Sets the trace id (a span of another trace is then no parent).
    pub fn with_trace(mut self, trace: Option<String>) -> Self {
        let parent_trace = self
            .traceparent
            .as_deref()
            .and_then(platform::telemetry::trace_id_of);
        if trace.is_none() || parent_trace != trace {
            self.traceparent = None;
        }
        self.trace = trace;
        self
    }

    /// Reads the payload as `E`; an error if the type or the shape differ.
    pub fn payload<E: Event>(&self) -> anyhow::Result<E> {
        anyhow::ensure!(
            self.event_type == E::TYPE,
            "expected {}, got {}",
            E::TYPE,
            self.event_type
        );
        Ok(serde_json::from_value(self.data.clone())?)
    }

    /// The NATS subject: `mercato.<type>`.
    pub fn subject(&self) -> String {
        subject_for(&self.event_type)
    }
}

/// The NATS subject of an event type.
pub fn subject_for(event_type: &str) -> String {
    format!("mercato.{event_type}")
}

#[cfg(test)]
mod tests {
    use contracts::events::users::PasswordResetRequested;

    use super::*;

    #[test]
    fn an_envelope_round_trips_with_its_payload() {
        let event = PasswordResetRequested {
            user_id: Uuid::now_v7(),
            email: "a@example.com".into(),
            name: "A".into(),
            reset_token: "t".into(),
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        let envelope = Envelope::new("users", event.user_id, &event).unwrap();
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["type"], "user.password_reset_requested");
        assert_eq!(json["version"], 1);
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back.payload::<PasswordResetRequested>().unwrap(), event);
        assert_eq!(back.subject(), "mercato.user.password_reset_requested");
    }
}
