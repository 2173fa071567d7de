//! Payment providers behind one trait, so that Stripe and PayPal plug in
//! beside the built-in `test` provider. Every mutating call carries an
//! idempotency key derived from our own ids, so a retried call cannot
//! charge or refund twice at the provider.

pub mod test;

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
}

/// What the customer hands in to confirm (the test provider's card).
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// Card number, digits only.
    pub card_number: String,
}

/// A provider's news about a payment, from a verified webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The provider's event id (handled once).
    pub id: String,
    /// The provider's payment reference.
    pub reference: String,
    /// What happened to it.
    pub outcome: Outcome,
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
}

/// A payment provider.
pub trait PaymentProvider: Send + Sync + 'static {
    /// `test`, `stripe`, `paypal`.
    fn name(&self) -> &'static str;

    /// Opens a payment for an order.
    fn create<'a>(
        &'a self,
        payment: NewPayment<'a>,
    ) -> BoxFuture<'a, Result<OpenedPayment, ProviderError>>;

    /// Confirms a payment server-side (the test provider's card form).
    fn confirm<'a>(
        &'a self,
        reference: &'a str,
        confirmation: &'a Confirmation,
    ) -> BoxFuture<'a, Result<Outcome, ProviderError>>;

    /// Takes authorised money (manual capture).
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
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>>;

    /// Voids a payment that was not taken.
    fn cancel<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// Verifies and reads a webhook; None for an event type we ignore.
    fn parse_webhook(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<Option<WebhookEvent>, ProviderError>;
}
