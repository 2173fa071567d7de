//! One way to call a provider's REST API: a time limit per call, retries
//! with backoff on 429, 5xx and no answer, never on another 4xx (the call
//! was understood and refused; repeating it changes nothing). Every
//! mutating call the providers make carries an idempotency key, which is
//! what makes retrying a 5xx safe: the provider answers a repeat with the
//! first outcome instead of charging again.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode, header::RETRY_AFTER};

use super::ProviderError;

/// The longest wait between attempts, whatever `Retry-After` asks.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// An HTTP client for one provider.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    attempts: u32,
    provider: &'static str,
}

/// A provider's final answer: 2xx or a 4xx that is not worth repeating.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (an empty object when it is not JSON).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| serde_json::json!({}))
    }
}

impl Api {
    pub(crate) fn new(
        provider: &'static str,
        timeout: Duration,
        attempts: u32,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("mercato/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            attempts: attempts.max(1),
            provider,
        })
    }

    /// Sends the request `build` makes (again for every attempt).
    pub(crate) async fn send(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Answer, ProviderError> {
        let mut attempt = 1;
        loop {
            let (reason, retry_after) = match build(&self.client).send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let retryable =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    if !retryable {
                        let body = response.bytes().await.map_err(|e| {
                            ProviderError::Transient(format!(
                                "{} {what}: reading the answer: {e}",
                                self.provider
                            ))
                        })?;
                        let outcome = if status.is_success() { "ok" } else { "refused" };
                        metrics::counter!("payments_provider_calls_total", "provider" => self.provider, "outcome" => outcome)
                            .increment(1);
                        return Ok(Answer {
                            status,
                            body: body.to_vec(),
                        });
                    }
                    (format!("answered {status}"), retry_after)
                }
                Err(e) => (format!("no answer ({e})"), None),
            };
            metrics::counter!("payments_provider_retries_total", "provider" => self.provider)
                .increment(1);
            if attempt >= self.attempts {
                metrics::counter!("payments_provider_calls_total", "provider" => self.provider, "outcome" => "unavailable")
                    .increment(1);
                return Err(ProviderError::Transient(format!(
                    "{} {what}: {reason} after {attempt} attempts",
                    self.provider
                )));
            }
            let wait = retry_after
                .unwrap_or_else(|| backoff(attempt))
                .min(MAX_WAIT);
            tracing::warn!(provider = self.provider, call = what, attempt, wait_ms = wait.as_millis() as u64, reason = %reason, "provider call failed; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// 250 ms, 1 s, 4 s, ... before attempt `attempt + 1`.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(4u64.saturating_pow(attempt - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped_by_the_caller() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(4).min(MAX_WAIT), MAX_WAIT);
    }
}
