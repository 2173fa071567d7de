//! A fake of Twilio's Messages API (`POST
//! /2010-04-01/Accounts/{AccountSid}/Messages.json`): HTTP basic auth with
//! the account SID and auth token (401, error 20003 otherwise), a form
//! body with `To` (E.164, else 400 error 21211), `From` (else 21603) and
//! `Body` (else 21602); 201 with a Message resource (`sid` `SM…`, `status`
//! `queued`). Errors have Twilio's shape `{code, message, more_info,
//! status}`. It can answer 429 or 5xx for a while.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{Outage, Shared, hex_id, serve};

/// A message Twilio accepted.
#[derive(Debug, Clone)]
pub struct SentSms {
    /// Its `sid`.
    pub sid: String,
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
}

#[derive(Default)]
struct Inner {
    account_sid: String,
    auth_token: String,
    outage: Outage,
    accepted: Vec<SentSms>,
}

/// A running fake.
#[derive(Clone)]
pub struct FakeTwilio {
    /// Its base URL (for `notifications.twilio_base_url`).
    pub base: String,
    state: Shared<Inner>,
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Json(json!({"code": code, "message": message,
                    "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
                    "status": status.as_u16()})),
    )
        .into_response()
}

fn is_e164(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or("");
    (2..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

async fn create(
    State(state): State<Shared<Inner>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut inner = state.lock().expect("lock");
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", inner.account_sid, inner.auth_token))
    );
    if account != inner.account_sid
        || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
    {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if let Some(status) = inner.outage.take() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return error(status, 20429, "Too Many Requests");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (to, from, text) = (field("To"), field("From"), field("Body"));
    if !is_e164(&to) {
        return error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    if from.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            21603,
            "The 'From' phone number is required.",
        );
    }
    if text.is_empty() {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    let sid = format!("SM{}", hex_id(16));
    let message: Value = json!({
        "sid": sid, "account_sid": inner.account_sid, "to": to, "from": from, "body": text,
        "status": "queued", "num_segments": "1", "direction": "outbound-api",
        "api_version": "2010-04-01", "price": null, "error_code": null, "error_message": null,
        "uri": format!("/2010-04-01/Accounts/{}/Messages/{sid}.json", inner.account_sid),
    });
    inner.accepted.push(SentSms {
        sid,
        to,
        from,
        body: text,
    });
    (StatusCode::CREATED, Json(message)).into_response()
}

impl FakeTwilio {
    /// Starts a fake for one account.
    pub async fn start(account_sid: &str, auth_token: &str) -> Self {
        let state: Shared<Inner> = Shared::default();
        {
            let mut inner = state.lock().expect("lock");
            inner.account_sid = account_sid.to_owned();
            inner.auth_token = auth_token.to_owned();
        }
        let router = Router::new()
            .route("/2010-04-01/Accounts/{account}/Messages.json", post(create))
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

    /// Messages accepted so far.
    pub fn accepted(&self) -> Vec<SentSms> {
        self.state.lock().expect("lock").accepted.clone()
    }
}
