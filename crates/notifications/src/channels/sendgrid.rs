//! Email over SendGrid's v3 Mail Send API (`POST /v3/mail/send`, bearer
//! API key, JSON body; 202 with the id in `X-Message-Id`). The base URL is
//! configurable so tests can aim it at a local server of the same protocol.

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{Channel, Outgoing, SendError, http_failure};

/// A SendGrid account.
pub struct SendGrid {
    client: reqwest::Client,
    base: String,
    api_key: SecretString,
    from_email: String,
    from_name: Option<String>,
}

impl std::fmt::Debug for SendGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendGrid")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl SendGrid {
    /// A client of the API at `base` (`https://api.sendgrid.com`).
    pub fn new(
        base: &str,
        api_key: SecretString,
        from: &str,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Self> {
        let from: lettre::message::Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("notifications.from_email: {e}"))?;
        Ok(Self {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            base: base.trim_end_matches('/').to_owned(),
            api_key,
            from_email: from.email.to_string(),
            from_name: from.name,
        })
    }
}

impl Channel for SendGrid {
    fn name(&self) -> &'static str {
        "sendgrid"
    }

    fn send<'a>(
        &'a self,
        delivery_id: Uuid,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Option<String>, SendError>> {
        Box::pin(async move {
            let Outgoing::Email {
                to,
                subject,
                text,
                html,
            } = message
            else {
                return Err(SendError::Permanent("SendGrid sends email only".into()));
            };
            let mut content = vec![json!({"type": "text/plain", "value": text})];
            if let Some(html) = html {
                content.push(json!({"type": "text/html", "value": html}));
            }
            let mut from = json!({"email": self.from_email});
            if let Some(name) = &self.from_name {
                from["name"] = json!(name);
            }
            let body = json!({
                "personalizations": [{"to": [{"email": to}]}],
                "from": from,
                "subject": subject,
                "content": content,
                // Ours, echoed in SendGrid's event webhooks.
                "custom_args": {"delivery_id": delivery_id.to_string()},
            });
            let response = self
                .client
                .post(format!("{}/v3/mail/send", self.base))
                .bearer_auth(self.api_key.expose_secret())
                .json(&body)
                .send()
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response
                    .headers()
                    .get("x-message-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned));
            }
            let text = response.text().await.unwrap_or_default();
            Err(http_failure(status, &text))
        })
    }
}
