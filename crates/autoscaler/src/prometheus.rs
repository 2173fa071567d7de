//! Signals from Prometheus's HTTP API: one instant query per signal.

use anyhow::Context as _;
use serde_json::Value;

use crate::controller::Signals;

/// A Prometheus server.
#[derive(Debug, Clone)]
pub struct Prometheus {
    base: String,
    client: reqwest::Client,
}

impl Prometheus {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            client,
        })
    }
}

impl Signals for Prometheus {
    async fn value(&self, query: &str) -> anyhow::Result<Option<f64>> {
        let answer: Value = self
            .client
            .get(format!(
                "{}/api/v1/query?{}",
                self.base,
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("query", query)
                    .finish()
            ))
            .send()
            .await
            .context("asking Prometheus")?
            .error_for_status()
            .context("Prometheus refused the query")?
            .json()
            .await
            .context("reading Prometheus's answer")?;
        value_of(&answer).with_context(|| format!("query {query}"))
    }
}

/// The one number an instant query's answer holds: `None` for an empty
/// vector (no data), an error for several series (the query must
/// aggregate them) or an answer that is not a success.
pub fn value_of(answer: &Value) -> anyhow::Result<Option<f64>> {
    anyhow::ensure!(
        answer["status"] == "success",
        "Prometheus answered {answer}"
    );
    let data = &answer["data"];
    let sample = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => {
            let series = data["result"].as_array().map_or(&[][..], Vec::as_slice);
            match series {
                [] => return Ok(None),
                [one] => &one["value"],
                many => anyhow::bail!("{} series; aggregate them to one", many.len()),
            }
        }
        other => anyhow::bail!("a {other:?} result; a signal is one number"),
    };
    let text = sample[1].as_str().context("no sample value")?;
    let value: f64 = text.parse().with_context(|| format!("sample {text}"))?;
    Ok(value.is_finite().then_some(value))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_answer_is_one_number_or_none() {
        let vector = |result: Value| json!({"status": "success", "data": {"resultType": "vector", "result": result}});
        assert_eq!(
            value_of(&vector(json!([{"metric": {}, "value": [1.0, "42.5"]}]))).unwrap(),
            Some(42.5)
        );
        assert_eq!(value_of(&vector(json!([]))).unwrap(), None);
        assert_eq!(
            value_of(&vector(json!([{"metric": {}, "value": [1.0, "NaN"]}]))).unwrap(),
            None
        );
        assert!(
            value_of(&vector(json!([
                {"metric": {"a": "1"}, "value": [1.0, "1"]},
                {"metric": {"a": "2"}, "value": [1.0, "2"]}
            ])))
            .unwrap_err()
            .to_string()
            .contains("aggregate")
        );
        assert_eq!(
            value_of(&json!({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "3"]}})).unwrap(),
            Some(3.0)
        );
        assert!(value_of(&json!({"status": "error", "error": "bad"})).is_err());
    }
}
