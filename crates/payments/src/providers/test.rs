//! The built-in `test` provider: no network, no money. A payment is
//! confirmed with one of the test cards of API.md, whose outcome is fixed
//! (see [`crate::domain::test_cards`]). Refunds always go through.

use contracts::checkout::Provider;
use futures::future::BoxFuture;
use uuid::Uuid;

use super::{
    Confirmation, NewPayment, OpenedPayment, Outcome, PaymentProvider, ProviderError, WebhookEvent,
};
use crate::domain::test_cards::{self, CardOutcome};

/// The `test` provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestProvider;

impl PaymentProvider for TestProvider {
    fn name(&self) -> Provider {
        Provider::Test
    }

    fn create<'a>(
        &'a self,
        payment: NewPayment<'a>,
    ) -> BoxFuture<'a, Result<OpenedPayment, ProviderError>> {
        Box::pin(async move {
            Ok(OpenedPayment {
                reference: format!("test_pay_{}", payment.payment_id.simple()),
                client_secret: None,
                approval_url: None,
            })
        })
    }

    fn confirm<'a>(
        &'a self,
        _reference: &'a str,
        confirmation: &'a Confirmation,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(async move {
            let Some(card) = &confirmation.card_number else {
                return Err(ProviderError::Refused(
                    "a test card number is required".into(),
                ));
            };
            match test_cards::outcome(card) {
                Some(CardOutcome::Succeeds) => Ok(Outcome::Succeeded),
                Some(CardOutcome::Fails(code)) => Ok(Outcome::Failed(code.into())),
                None => Err(ProviderError::Refused(
                    "not a test card; use 4242424242424242, 4000000000000002 or 4000000000009995"
                        .into(),
                )),
            }
        })
    }

    fn capture<'a>(
        &'a self,
        _reference: &'a str,
        _amount: i64,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(async move { Ok(Outcome::Succeeded) })
    }

    fn refund<'a>(
        &'a self,
        _reference: &'a str,
        _amount: i64,
        _currency: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move { Ok(format!("test_re_{}", Uuid::now_v7().simple())) })
    }

    fn cancel<'a>(&'a self, _reference: &'a str) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move { Ok(()) })
    }

    fn verify_webhook<'a>(
        &'a self,
        _headers: &'a axum::http::HeaderMap,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<WebhookEvent>, ProviderError>> {
        Box::pin(async move { Err(ProviderError::Unsupported("webhooks")) })
    }
}
