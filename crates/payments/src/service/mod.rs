//! The payments service's use cases: opening a payment when stock is held,
//! confirming it (test provider), refunds, and voiding or refunding when an
//! order is cancelled.

use contracts::checkout::Provider;
use std::{collections::HashMap, sync::Arc, time::Duration};

use contracts::events::{
    Event,
    inventory::InventoryReserved,
    orders::{OrderCancelled, OrderPlaced},
    payments::{PaymentCreated, PaymentFailed, PaymentRefunded, PaymentSucceeded},
};
use eventbus::{Envelope, inbox, outbox::Outbox};
pub use platform::idempotency::Idempotency;
use platform::{
    auth::AuthUser,
    db::Db,
    idempotency::{self, StoredResponse},
    time::now_millis,
};
use uuid::Uuid;

use crate::{
    config::PaymentsConfig,
    domain::payment::{Due, Payment, Refund, RefundRefused, Status},
    error::{PaymentError, Result},
    providers::{
        Confirmation, Happened, NewPayment, OpenedPayment, Outcome, PaymentProvider, ProviderError,
        paypal::{PaypalProvider, PaypalSettings},
        stripe::{StripeProvider, StripeSettings},
    },
    store,
};
use secrecy::{ExposeSecret as _, SecretString};

mod confirm;
mod refunds;
mod saga;
mod webhooks;

/// The inbox consumer of order and inventory events.
const CONSUMER: &str = "payments-orders";

/// What a refund request answered.
#[derive(Debug)]
pub enum Refunded {
    /// A new refund; the response body is recorded for replays.
    Created(Box<Refund>, String),
    /// The key was used before with this request: its first answer.
    Replay(StoredResponse),
}

/// Renders the response body of a new refund (stored for replays).
pub type Render<'a> = &'a (dyn Fn(&Refund, &Payment) -> anyhow::Result<String> + Send + Sync);

/// The payments service.
pub struct PaymentsService {
    db: Db,
    outbox: Arc<Outbox>,
    providers: HashMap<Provider, Arc<dyn PaymentProvider>>,
    reopen_interval: Duration,
}

impl std::fmt::Debug for PaymentsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentsService").finish_non_exhaustive()
    }
}

impl PaymentsService {
    /// The service over a migrated database with the configured providers.
    pub fn new(db: Db, cfg: &PaymentsConfig) -> anyhow::Result<Self> {
        let outbox = Outbox::new(db.clone(), crate::NAME);
        let mut providers: HashMap<Provider, Arc<dyn PaymentProvider>> = HashMap::new();
        let mut add = |provider: Arc<dyn PaymentProvider>| {
            providers.insert(provider.name(), provider);
        };
        if cfg.test_provider {
            add(Arc::new(crate::providers::test::TestProvider));
        }
        let timeout = Duration::from_millis(cfg.provider_timeout_ms);
        if let (Some(key), Some(secrets)) = (&cfg.stripe_secret_key, &cfg.stripe_webhook_secret) {
            add(Arc::new(StripeProvider::new(StripeSettings {
                base_url: cfg.stripe_base_url.clone(),
                secret_key: key.clone(),
                webhook_secrets: secrets
                    .expose_secret()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(SecretString::from)
                    .collect(),
                manual_capture: cfg.stripe_capture == "manual",
                timeout,
                attempts: cfg.provider_attempts,
            })?));
        }
        if let (Some(client_id), Some(secret), Some(webhook_id)) = (
            &cfg.paypal_client_id,
            &cfg.paypal_client_secret,
            &cfg.paypal_webhook_id,
        ) {
            add(Arc::new(PaypalProvider::new(PaypalSettings {
                base_url: cfg.paypal_base_url.clone(),
                client_id: client_id.clone(),
                client_secret: secret.clone(),
                webhook_id: webhook_id.clone(),
                return_url: cfg.paypal_return_url.clone(),
                cancel_url: cfg.paypal_cancel_url.clone(),
                timeout,
                attempts: cfg.provider_attempts,
            })?));
        }
        Ok(Self {
            db,
            outbox,
            providers,
            reopen_interval: Duration::from_millis(cfg.reopen_interval_ms),
        })
    }

    /// The outbox, for its relay.
    pub fn outbox(&self) -> Arc<Outbox> {
        self.outbox.clone()
    }

    /// How often payments whose provider call was cut short are reopened.
    pub fn reopen_interval(&self) -> Duration {
        self.reopen_interval
    }

    /// The providers that take payments here.
    pub fn providers(&self) -> Vec<Provider> {
        let mut enabled: Vec<Provider> = self.providers.keys().copied().collect();
        enabled.sort_unstable();
        enabled
    }

    fn provider(
        &self,
        which: Provider,
    ) -> std::result::Result<&Arc<dyn PaymentProvider>, ProviderError> {
        self.providers
            .get(&which)
            .ok_or(ProviderError::Unsupported("this provider is not enabled"))
    }

    /// The payment, if the caller may see it: the order's customer or an
    /// admin; a guest order's payment to anyone with its id.
    pub async fn get(&self, payment_id: Uuid, caller: Option<&AuthUser>) -> Result<Payment> {
        store::find(self.db.pool(), payment_id)
            .await?
            .filter(|p| may_see(p.customer_id, caller))
            .ok_or(PaymentError::NotFound("payment"))
    }

    /// The order's payments the caller may see (none for someone else's order).
    pub async fn for_order(
        &self,
        order_id: Uuid,
        caller: Option<&AuthUser>,
    ) -> Result<Vec<Payment>> {
        Ok(store::find_by_order(self.db.pool(), order_id)
            .await?
            .filter(|p| may_see(p.customer_id, caller))
            .into_iter()
            .collect())
    }
}

fn may_see(owner: Option<Uuid>, caller: Option<&AuthUser>) -> bool {
    match (owner, caller) {
        (None, _) => true,
        (Some(_), Some(c)) if c.is_admin() => true,
        (Some(owner), Some(c)) => owner == c.id,
        (Some(_), None) => false,
    }
}

fn not_pending(payment: &Payment) -> PaymentError {
    PaymentError::WrongStatus {
        status: payment.status.as_str(),
        detail: format!(
            "The payment is {}; only a pending payment can be confirmed.",
            payment.status.as_str()
        ),
    }
}

fn refused(payment: &Payment, e: &RefundRefused) -> PaymentError {
    match e {
        RefundRefused::NotRefundable(_) => PaymentError::WrongStatus {
            status: payment.status.as_str(),
            detail: format!("{e}."),
        },
        RefundRefused::NothingRemains => PaymentError::NothingToRefund,
        RefundRefused::TooMuch { .. } | RefundRefused::NotPositive => {
            PaymentError::field("amount", e.to_string())
        }
    }
}

fn envelope<E: Event>(order_id: Uuid, event: &E, trace: Option<String>) -> Result<Envelope> {
    // Made in the current trace; `trace` names another when the caller's is
    // known only by id.
    Envelope::new(crate::NAME, order_id, event)
        .map(|e| match trace {
            Some(trace) => e.with_trace(Some(trace)),
            None => e,
        })
        .map_err(|e| PaymentError::Unexpected(anyhow::Error::new(e).context("encoding an event")))
}
