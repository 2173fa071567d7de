//! SMS over Twilio's Messages API (`POST
//! /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth with
//! the account SID and auth token, form body `To`, `From`, `Body`; 201 with
//! the message `sid`). The base URL is configurable for tests.

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{Channel, Outgoing, SendError, http_failure};

/// A Twilio account.
pub struct Twilio {
    client: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: SecretString,
    from: String,
}

impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twilio")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Twilio {
    /// A client of the API at `base` (`https://api.twilio.com`).
    pub fn new(
        base: &str,
        account_sid: &str,
        auth_token: SecretString,
        from: &str,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            base: base.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token,
            from: from.to_owned(),
        })
    }
}

#[derive(serde::Deserialize)]
struct Created {
    sid: String,
}

impl Channel for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn send<'a>(
        &'a self,
        _delivery_id: Uuid,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Option<String>, SendError>> {
        Box::pin(async move {
            let Outgoing::Sms { to, body } = message else {
                return Err(SendError::Permanent("Twilio sends SMS only".into()));
            };
            let form = [
                ("To", to.as_str()),
                ("From", self.from.as_str()),
                ("Body", body.as_str()),
            ];
            let response = self
                .client
                .post(format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    self.base, self.account_sid
                ))
                .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
                .form(&form)
                .send()
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?;
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            if status.is_success() {
                let created: Created = serde_json::from_str(&text)
                    .map_err(|e| SendError::Transient(format!("unreadable answer: {e}")))?;
                return Ok(Some(created.sid));
            }
            Err(http_failure(status, &text))
        })
    }
}
