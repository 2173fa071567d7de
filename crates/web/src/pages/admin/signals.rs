//! The event backbone's health for the overview: how far the outboxes lag
//! and how many events were dead-lettered. Both are metrics, not API
//! resources: read from Prometheus when the dashboard knows one, else from
//! the all-in-one server's own `/metrics` (which are every service's).

use std::time::Duration;

use serde::Deserialize;

use crate::{AppState, api::Caller};

/// What the overview shows; `None` where the figure is unknown.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    /// The oldest unpublished outbox event's age, over all services (s).
    pub outbox_lag_secs: Option<f64>,
    /// Events given up on.
    pub dead_letters: Option<f64>,
    /// Over what time `dead_letters` counts.
    pub dead_letters_window: &'static str,
    /// Where the figures came from, or why there are none.
    pub source: String,
}

const LAG: &str = "eventbus_outbox_lag_seconds";
const DEAD: &str = "eventbus_dead_lettered_total";

/// Reads the signals; never fails (an unknown figure is shown as such).
pub async fn read(state: &AppState, caller: &Caller) -> Signals {
    if let Some(url) = &state.settings.prometheus_url {
        return from_prometheus(url).await;
    }
    if state.api.is_in_process() {
        return match state.api.text(caller, "/metrics").await {
            Ok(text) => Signals {
                outbox_lag_secs: fold(&text, LAG, f64::max),
                dead_letters: fold(&text, DEAD, |a, b| a + b).or(Some(0.0)),
                dead_letters_window: "since the server started",
                source: "this server's metrics".into(),
            },
            Err(e) => {
                tracing::warn!(error = ?e, "metrics unavailable for the overview");
                unknown("the server's metrics did not answer")
            }
        };
    }
    unknown("no Prometheus configured (web.prometheus_url)")
}

fn unknown(why: &str) -> Signals {
    Signals {
        source: why.to_owned(),
        ..Signals::default()
    }
}

/// Folds the values of every series of `metric` in Prometheus's text
/// format; `None` when there is none.
fn fold(text: &str, metric: &str, f: impl Fn(f64, f64) -> f64) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(metric)?;
            // The whole name, not a longer one that starts with it.
            if !(rest.starts_with('{') || rest.starts_with(' ')) {
                return None;
            }
            line.rsplit(' ').next()?.parse::<f64>().ok()
        })
        .reduce(f)
}

#[derive(Deserialize)]
struct QueryReply {
    data: QueryData,
}

#[derive(Deserialize)]
struct QueryData {
    result: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    value: (f64, String),
}

async fn from_prometheus(base: &str) -> Signals {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(client) => client,
        Err(e) => return unknown(&format!("no HTTP client: {e}")),
    };
    let query = |q: String| {
        let client = client.clone();
        let url = format!(
            "{}/api/v1/query?query={}",
            base.trim_end_matches('/'),
            crate::pages::encode(&q)
        );
        async move {
            let reply: QueryReply = client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok::<_, reqwest::Error>(
                reply
                    .data
                    .result
                    .first()
                    .and_then(|s| s.value.1.parse::<f64>().ok()),
            )
        }
    };
    let (lag, dead) = tokio::join!(
        query(format!("max({LAG})")),
        query(format!("sum(increase({DEAD}[24h]))")),
    );
    match (lag, dead) {
        (Ok(lag), Ok(dead)) => Signals {
            outbox_lag_secs: lag,
            // No series: nothing was ever dead-lettered.
            dead_letters: dead.or(Some(0.0)),
            dead_letters_window: "in the last 24 hours",
            source: "Prometheus".into(),
        },
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "Prometheus unavailable for the overview");
            unknown("Prometheus did not answer")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_text_is_folded_per_metric() {
        let text = "# HELP eventbus_outbox_lag_seconds lag\n\
            # TYPE eventbus_outbox_lag_seconds gauge\n\
            eventbus_outbox_lag_seconds{service=\"users\"} 0.5\n\
            eventbus_outbox_lag_seconds{service=\"orders\"} 2.25\n\
            eventbus_outbox_lag_seconds_other 99\n\
            eventbus_dead_lettered_total{subscription=\"a\",type=\"x\"} 2\n\
            eventbus_dead_lettered_total{subscription=\"b\",type=\"y\"} 3\n";
        assert_eq!(fold(text, LAG, f64::max), Some(2.25));
        assert_eq!(fold(text, DEAD, |a, b| a + b), Some(5.0));
        assert_eq!(fold("", DEAD, |a, b| a + b), None);
    }
}
