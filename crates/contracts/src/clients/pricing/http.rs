//! Pricing over HTTP (`POST /api/v1/quotes`), for a cart or orders service
//! running without pricing in its process.

use std::time::Duration;

use super::{ClientError, PriceQuote, PricingClient, QuoteRequest, Refused};
use futures::future::BoxFuture;
use platform::discovery::{Peer, PeerError, Retry};
use serde::Deserialize;

/// Prices carts with the pricing service's API, within a timeout, on
/// another instance when one cannot be reached.
pub struct HttpPricing {
    peer: Peer,
}

impl HttpPricing {
    /// A client of the pricing instances `endpoints` finds (etcd, or a fixed URL).
    pub fn new(
        endpoints: std::sync::Arc<platform::discovery::Endpoints>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            peer: Peer::new(endpoints, timeout)?,
        })
    }
}

fn unavailable(detail: impl ToString) -> ClientError {
    ClientError::Unavailable {
        service: "pricing",
        detail: detail.to_string(),
    }
}

/// The parts of a 422 problem that say what the customer must change.
#[derive(Deserialize)]
struct RefusalBody {
    #[serde(rename = "type")]
    type_uri: String,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    promotion_code: Option<String>,
}

/// The refusal a 422 from `POST /quotes` stands for, if it is one.
fn refusal(body: RefusalBody) -> Option<Refused> {
    let kind = body.type_uri.rsplit_once("/problems/")?.1;
    if kind == "pricing/shipping-option" {
        return Some(Refused::ShippingOption);
    }
    let reason = kind.strip_prefix("promotions/")?;
    Some(Refused::Code {
        code: body.promotion_code?,
        reason: reason.to_owned(),
        message: body.detail.unwrap_or_default(),
    })
}

impl PricingClient for HttpPricing {
    fn quote<'a>(
        &'a self,
        request: &'a QuoteRequest,
    ) -> BoxFuture<'a, Result<Result<PriceQuote, Refused>, ClientError>> {
        Box::pin(async move {
            // A quote changes nothing: any instance may answer it again.
            let response = self
                .peer
                .send(Retry::Idempotent, |http, base| {
                    http.post(format!("{base}/api/v1/quotes")).json(request)
                })
                .await
                .map_err(unavailable)?;
            match response.status() {
                s if s.is_success() => response.json().await.map(Ok).map_err(unavailable),
                reqwest::StatusCode::UNPROCESSABLE_ENTITY => {
                    let text = response.text().await.map_err(unavailable)?;
                    serde_json::from_str::<RefusalBody>(&text)
                        .ok()
                        .and_then(refusal)
                        .map(Err)
                        .ok_or_else(|| unavailable(format!("pricing refused the request: {text}")))
                }
                _ => Err(unavailable(PeerError::answered(response).await)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(type_uri: &str, code: Option<&str>) -> RefusalBody {
        RefusalBody {
            type_uri: format!("https://mercato.dev/problems/{type_uri}"),
            detail: Some("has expired".into()),
            promotion_code: code.map(Into::into),
        }
    }

    #[test]
    fn a_problem_type_names_the_refusal() {
        assert_eq!(
            refusal(body("promotions/expired", Some("SPRING"))),
            Some(Refused::Code {
                code: "SPRING".into(),
                reason: "expired".into(),
                message: "has expired".into()
            })
        );
        assert_eq!(
            refusal(body("pricing/shipping-option", None)),
            Some(Refused::ShippingOption)
        );
        // A validation problem is a bug of the caller, not the customer's.
        assert_eq!(refusal(body("validation", None)), None);
        assert_eq!(refusal(body("promotions/expired", None)), None);
    }
}
