//! Payment providers behind one trait, so that Stripe and PayPal plug in
//! beside the built-in `test` provider. Every mutating call carries an
//! idempotency key derived from our own ids, so a retried call cannot
//! charge or refund twice at the provider.

mod http;
pub mod paypal;
pub mod stripe;
pub mod test;

use contracts::checkout::Provider;
use futures::future::BoxFuture;
use uuid::Uuid;

/// A payment to open at the provider.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    /// Our payment id.
    pub payment_id: Uuid,
    /// The order it pays.
    pub order_id: Uuid,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: &'a str,
    /// Same for every attempt to open this order's payment.
    pub idempotency_key: String,
}

/// What the provider answered to a new payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPayment {
    /// The provider's id of it.
    pub reference: String,
    /// For the client to confirm it (Stripe's PaymentIntent secret).
    pub client_secret: Option<String>,
    /// Where the customer approves it (PayPal).
    pub approval_url: Option<String>,
}

/// The outcome of confirming or capturing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The money is taken.
    Succeeded,
    /// Refused, with the provider's reason code.
    Failed(String),
    /// Not settled yet: the provider's webhook will say.
    Pending,
}

/// What the customer hands in to confirm: a test card for the test
/// provider; nothing for PayPal (the buyer approved at PayPal and came
/// back, so the payment is captured).
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    /// Card number, digits only (test provider).
    pub card_number: Option<String>,
}

/// What a provider's webhook reports about a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happened {
    /// The money is taken.
    Succeeded,
    /// The payment failed, with the provider's reason code.
    Failed(String),
    /// The customer authorised or approved it: it waits for our capture
    /// (Stripe with manual capture, PayPal after approval).
    AwaitsCapture,
    /// Refunded at the provider, `total` in all so far (possibly from its
    /// dashboard, not through us).
    Refunded {
        /// Minor units refunded in all.
        total: i64,
    },
}

/// A provider's news about a payment, from a verified webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The provider's event id (handled once).
    pub id: String,
    /// The provider's payment reference.
    pub reference: String,
    /// What happened to it.
    pub happened: Happened,
}

/// A provider call that did not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth retrying later (timeouts, 429, 5xx).
    #[error("provider temporarily unavailable: {0}")]
    Transient(String),
    /// Refused for good (a 4xx that a retry would not change).
    #[error("refused by the provider: {0}")]
    Refused(String),
    /// This provider does not do that.
    #[error("not supported by this provider: {0}")]
    Unsupported(&'static str),
    /// A webhook whose origin could not be verified.
    #[error("webhook not verified: {0}")]
    Unverified(String),
}

/// A payment provider.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Which provider it is.
    fn name(&self) -> Provider;

    /// Opens a payment for an order.
    fn create<'a>(
        &'a self,
        payment: NewPayment<'a>,
    ) -> BoxFuture<'a, Result<OpenedPayment, ProviderError>>;

    /// Confirms a payment server-side: the test provider's card form,
    /// PayPal's capture when the buyer comes back.
    fn confirm<'a>(
        &'a self,
        reference: &'a str,
        confirmation: &'a Confirmation,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>>;

    /// Takes authorised or approved money.
    fn capture<'a>(
        &'a self,
        reference: &'a str,
        amount: i64,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>>;

    /// Sends `amount` back; returns the provider's refund id.
    fn refund<'a>(
        &'a self,
        reference: &'a str,
        amount: i64,
        currency: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>>;

    /// Voids a payment that was not taken.
    fn cancel<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// Verifies and reads a webhook from its raw body; None for an event
    /// we do not act on (acknowledged all the same).
    fn verify_webhook<'a>(
        &'a self,
        headers: &'a axum::http::HeaderMap,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<WebhookEvent>, ProviderError>>;
}

/// `amount` minor units as the decimal string APIs such as PayPal's want
/// (`1234` USD is `"12.34"`, `1200` JPY is `"1200"`).
pub fn decimal(amount: i64, currency: &str) -> String {
    let exponent = u32::from(platform::money::minor_units(currency).unwrap_or(2));
    if exponent == 0 {
        return amount.to_string();
    }
    let scale = 10u64.pow(exponent);
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = exponent as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_as_decimals_follow_the_currency_exponent() {
        assert_eq!(decimal(1234, "USD"), "12.34");
        assert_eq!(decimal(5, "EUR"), "0.05");
        assert_eq!(decimal(1200, "JPY"), "1200");
        assert_eq!(decimal(1234, "KWD"), "1.234");
    }
}
