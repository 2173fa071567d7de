//! A fake of SendGrid's v3 Mail Send API (`POST /v3/mail/send`): bearer
//! API key (401 otherwise), JSON body with `personalizations[].to[].email`,
//! `from.email`, `subject` and non-empty `content[]` (400 with SendGrid's
//! `{"errors": [{"message", "field", "help"}]}` otherwise), 202 with an
//! empty body and `X-Message-Id`. It can answer 429 or 5xx for a while.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

use super::{Outage, Shared, hex_id, serve};

/// A mail SendGrid accepted.
#[derive(Debug, Clone)]
pub struct SentMail {
    /// The id it answered with.
    pub message_id: String,
    /// The request body.
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    api_key: String,
    outage: Outage,
    accepted: Vec<SentMail>,
    requests: u32,
}

/// A running fake.
#[derive(Clone)]
pub struct FakeSendGrid {
    /// Its base URL (for `notifications.sendgrid_base_url`).
    pub base: String,
    state: Shared<Inner>,
}

fn error(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    (
        status,
        Json(json!({"errors": [{"message": message, "field": field, "help": null}]})),
    )
        .into_response()
}

async fn send(State(state): State<Shared<Inner>>, headers: HeaderMap, body: String) -> Response {
    let mut inner = state.lock().expect("lock");
    inner.requests += 1;
    let expected = format!("Bearer {}", inner.api_key);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "The provided authorization grant is invalid, expired, or revoked",
            None,
        );
    }
    if let Some(status) = inner.outage.take() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return error(status, "Service temporarily unavailable, try again", None);
    }
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Ok(body) = serde_json::from_str::<Value>(&body)
        .map_err(|_| ())
        .and_then(|b| if is_json { Ok(b) } else { Err(()) })
    else {
        return error(StatusCode::BAD_REQUEST, "Bad Request", None);
    };
    let to_ok = body["personalizations"].as_array().is_some_and(|p| {
        !p.is_empty()
            && p.iter().all(|p| {
                p["to"].as_array().is_some_and(|to| {
                    !to.is_empty()
                        && to
                            .iter()
                            .all(|t| t["email"].as_str().is_some_and(|e| e.contains('@')))
                })
            })
    });
    if !to_ok {
        return error(
            StatusCode::BAD_REQUEST,
            "The to array is required for all personalization objects, and must have at least one email object with a valid email address.",
            Some("personalizations.0.to"),
        );
    }
    if !body["from"]["email"]
        .as_str()
        .is_some_and(|e| e.contains('@'))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "The from object must be provided for every email send.",
            Some("from"),
        );
    }
    if body["subject"].as_str().is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.",
            Some("subject"),
        );
    }
    let content_ok = body["content"].as_array().is_some_and(|c| {
        !c.is_empty()
            && c.iter().all(|part| {
                part["type"].as_str().is_some()
                    && part["value"].as_str().is_some_and(|v| !v.is_empty())
            })
    });
    if !content_ok {
        return error(
            StatusCode::BAD_REQUEST,
            "The content value must be a string at least one character in length.",
            Some("content.0.value"),
        );
    }
    let message_id = hex_id(11);
    inner.accepted.push(SentMail {
        message_id: message_id.clone(),
        body,
    });
    (StatusCode::ACCEPTED, [("x-message-id", message_id)], "").into_response()
}

impl FakeSendGrid {
    /// Starts a fake that accepts `api_key`.
    pub async fn start(api_key: &str) -> Self {
        let state: Shared<Inner> = Shared::default();
        state.lock().expect("lock").api_key = api_key.to_owned();
        let router = Router::new()
            .route("/v3/mail/send", post(send))
            .with_state(state.clone());
        Self {
            base: serve(router).await,
            state,
        }
    }

    /// Answers the next `n` requests with `status` (429 or 5xx).
    pub fn fail_next(&self, n: u32, status: u16) {
        self.state.lock().expect("lock").outage = Outage {
            remaining: n,
            status,
        };
    }

    /// Mails accepted so far.
    pub fn accepted(&self) -> Vec<SentMail> {
        self.state.lock().expect("lock").accepted.clone()
    }

    /// Requests received so far (accepted or not).
    pub fn requests(&self) -> u32 {
        self.state.lock().expect("lock").requests
    }
}
