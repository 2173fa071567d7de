//! Pricing called in-process (all-in-one), behind the same trait as over
//! HTTP.

use std::sync::Arc;

use contracts::clients::{
    ClientError,
    pricing::{PriceQuote, PricingClient, QuoteRequest, Refused},
};
use futures::future::BoxFuture;

use crate::{error::PricingError, service::PricingService};

/// Quotes through the service directly.
pub struct InProcessPricing(pub Arc<PricingService>);

impl PricingClient for InProcessPricing {
    fn quote<'a>(
        &'a self,
        request: &'a QuoteRequest,
    ) -> BoxFuture<'a, Result<Result<PriceQuote, Refused>, ClientError>> {
        Box::pin(async move {
            match self.0.quote(request).await {
                Ok(quote) => Ok(Ok(quote)),
                Err(PricingError::Refused { code, refusal }) => Ok(Err(Refused::Code {
                    code,
                    reason: refusal.slug().to_owned(),
                    message: refusal.message().to_owned(),
                })),
                Err(PricingError::ShippingOption) => Ok(Err(Refused::ShippingOption)),
                Err(e) => Err(ClientError::Unavailable {
                    service: "pricing",
                    detail: e.to_string(),
                }),
            }
        })
    }
}
