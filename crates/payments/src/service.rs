//! The payments service's use cases: opening a payment when stock is held,
//! confirming it (test provider), refunds, and voiding or refunding when an
//! order is cancelled.

use std::{collections::HashMap, sync::Arc, time::Duration};

use contracts::events::{
    Event,
    inventory::InventoryReserved,
    orders::{OrderCancelled, OrderPlaced},
    payments::{PaymentCreated, PaymentFailed, PaymentRefunded, PaymentSucceeded},
};
use eventbus::{Envelope, inbox, outbox::Outbox};
use platform::{
    auth::AuthUser,
    db::Db,
    idempotency::{self, Claim, StoredResponse},
    time::now_millis,
};
use uuid::Uuid;

use crate::{
    config::PaymentsConfig,
    domain::payment::{self, RefundRefused, Status},
    error::{PaymentError, Result},
    providers::{
        Confirmation, Happened, NewPayment, OpenedPayment, Outcome, PaymentProvider, ProviderError,
        paypal::{PaypalProvider, PaypalSettings},
        stripe::{StripeProvider, StripeSettings},
    },
    store::{self, Due, Payment, Refund},
};
use secrecy::{ExposeSecret as _, SecretString};
use tokio_util::sync::CancellationToken;

/// The inbox consumer of order and inventory events.
const CONSUMER: &str = "payments-orders";

/// The request's `Idempotency-Key` and the fingerprint of its request.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The key.
    pub key: String,
    /// See [`idempotency::fingerprint`].
    pub fingerprint: String,
}

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
    providers: HashMap<&'static str, Arc<dyn PaymentProvider>>,
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
        let mut providers: HashMap<&'static str, Arc<dyn PaymentProvider>> = HashMap::new();
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

    /// Names of the providers that take payments here.
    pub fn provider_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.providers.keys().copied().collect();
        names.sort_unstable();
        names
    }

    fn provider(
        &self,
        name: &str,
    ) -> std::result::Result<&Arc<dyn PaymentProvider>, ProviderError> {
        self.providers
            .get(name)
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

    /// Confirms a pending payment: with a test card (the test provider's
    /// stand-in for a checkout form), or, for PayPal, once the buyer has
    /// approved it there (captures it). Publishes the outcome.
    pub async fn confirm(
        &self,
        payment_id: Uuid,
        caller: Option<&AuthUser>,
        card_number: Option<&str>,
    ) -> Result<Payment> {
        let payment = self.get(payment_id, caller).await?;
        if payment.status != Status::Pending {
            return Err(not_pending(&payment));
        }
        let confirmation = match payment.provider.as_str() {
            "test" => {
                let card =
                    card_number.ok_or_else(|| PaymentError::field("card_number", "is required"))?;
                let card = crate::domain::test_cards::normalise(card)
                    .ok_or_else(|| PaymentError::field("card_number", "must be 12 to 19 digits"))?;
                Confirmation {
                    card_number: Some(card),
                }
            }
            "paypal" => Confirmation::default(),
            other => {
                return Err(PaymentError::WrongStatus {
                    status: payment.status.as_str(),
                    detail: format!(
                        "A {other} payment is confirmed by the customer's browser with its client_secret, not here."
                    ),
                });
            }
        };
        if !payment.is_opened() {
            return Err(PaymentError::WrongStatus {
                status: payment.status.as_str(),
                detail: format!(
                    "The payment is not open at {} yet (the provider did not answer); try again shortly.",
                    payment.provider
                ),
            });
        }
        let outcome = self
            .provider(&payment.provider)?
            .confirm(&payment.provider_ref, &confirmation)
            .await
            .map_err(|e| match e {
                ProviderError::Refused(reason) if payment.provider == "test" => {
                    PaymentError::field("card_number", reason)
                }
                ProviderError::Refused(reason) => PaymentError::WrongStatus {
                    status: payment.status.as_str(),
                    detail: format!("{reason}."),
                },
                other => PaymentError::Provider(other),
            })?;
        if !self.settle(&payment, &outcome, None).await? && outcome != Outcome::Pending {
            // Another confirmation (a webhook, a void) won the race.
            let current = self.get(payment_id, caller).await?;
            if current.status != Status::Succeeded || outcome != Outcome::Succeeded {
                return Err(not_pending(&current));
            }
        }
        self.get(payment_id, caller).await
    }

    /// Records a settled outcome and publishes it, if the payment is still
    /// pending; false if it was not (someone settled it first).
    async fn settle(
        &self,
        payment: &Payment,
        outcome: &Outcome,
        trace: Option<String>,
    ) -> Result<bool> {
        let mut tx = self.db.begin_write().await?;
        let settled = self.settle_in(&mut tx, payment, outcome, trace).await?;
        self.outbox.commit(tx).await?;
        Ok(settled)
    }

    async fn settle_in(
        &self,
        tx: &mut platform::db::WriteTx,
        payment: &Payment,
        outcome: &Outcome,
        trace: Option<String>,
    ) -> Result<bool> {
        let (status, failure_code) = match outcome {
            Outcome::Succeeded => (Status::Succeeded, None),
            Outcome::Failed(code) => (Status::Failed, Some(code.as_str())),
            Outcome::Pending => return Ok(false),
        };
        if !store::settle(tx, payment.id, status, failure_code, now_millis()).await? {
            return Ok(false);
        }
        let provider = payment.provider.clone();
        let event = match outcome {
            Outcome::Failed(code) => {
                metrics::counter!("payments_failed_total", "provider" => provider, "code" => code.clone())
                    .increment(1);
                envelope(
                    payment.order_id,
                    &PaymentFailed {
                        payment_id: payment.id,
                        order_id: payment.order_id,
                        failure_code: code.clone(),
                        customer_id: payment.customer_id,
                        email: payment.email.clone(),
                    },
                    trace,
                )?
            }
            _ => {
                metrics::counter!("payments_succeeded_total", "provider" => provider).increment(1);
                envelope(
                    payment.order_id,
                    &PaymentSucceeded {
                        payment_id: payment.id,
                        order_id: payment.order_id,
                        amount: payment.amount,
                        currency: payment.currency.clone(),
                    },
                    trace,
                )?
            }
        };
        self.outbox.append(tx, &event).await?;
        tracing::info!(payment.id = %payment.id, order.id = %payment.order_id, status = status.as_str(), "payment settled");
        Ok(true)
    }

    /// Refunds all or part of a payment (admin), with an idempotency key.
    pub async fn refund(
        &self,
        payment_id: Uuid,
        admin: &AuthUser,
        amount: Option<i64>,
        idem: Option<Idempotency>,
        render: Render<'_>,
    ) -> Result<Refunded> {
        let caller = admin.id.to_string();
        if let Some(idem) = &idem {
            let claim = idempotency::claim(
                &self.db,
                &caller,
                &idem.key,
                &idem.fingerprint,
                now_millis(),
                // Held for the key's whole life: a refund asks the provider
                // between two transactions, and a takeover after a crash
                // there could refund twice (its provider key is the refund's
                // id, new per attempt).
                std::time::Duration::from_millis(idempotency::TTL_MS.unsigned_abs()),
            )
            .await?;
            if let Claim::Replay(stored) = claim {
                return Ok(Refunded::Replay(stored));
            }
            if let Some(problem) = idempotency::problem(&claim) {
                return Err(problem.into());
            }
        }
        let key = idem.as_ref().map(|i| (caller.as_str(), i.key.as_str()));
        let result = self
            .refund_claimed(payment_id, amount, "requested by an admin", key, render)
            .await;
        if result.is_err()
            && let Some(idem) = &idem
        {
            // Nothing was written: the client may retry with the same key.
            idempotency::release_after_failure(&self.db, &caller, &idem.key).await;
        }
        result
    }

    /// Earmarks the amount, asks the provider, records the outcome. The
    /// earmark (a conditional update) is what keeps concurrent refunds
    /// from returning more than was taken.
    async fn refund_claimed(
        &self,
        payment_id: Uuid,
        amount: Option<i64>,
        reason: &str,
        idem: Option<(&str, &str)>,
        render: Render<'_>,
    ) -> Result<Refunded> {
        let payment = store::find(self.db.pool(), payment_id)
            .await?
            .ok_or(PaymentError::NotFound("payment"))?;
        let wanted = payment::refund_amount(
            payment.status,
            payment.amount,
            payment.refunded_amount,
            amount,
        )
        .map_err(|e| refused(&payment, &e))?;
        let now = now_millis();
        let mut refund = Refund {
            id: Uuid::now_v7(),
            payment_id,
            amount: wanted,
            status: "pending".into(),
            provider_ref: None,
            reason: reason.into(),
            created_at: now,
        };
        let mut tx = self.db.begin_write().await?;
        if !store::earmark_refund(&mut tx, payment_id, wanted, now).await? {
            drop(tx);
            let current = store::find(self.db.pool(), payment_id)
                .await?
                .ok_or(PaymentError::NotFound("payment"))?;
            let e = payment::refund_amount(
                current.status,
                current.amount,
                current.refunded_amount,
                Some(wanted),
            )
            .err()
            .unwrap_or(RefundRefused::TooMuch {
                remaining: current.amount - current.refunded_amount,
            });
            return Err(refused(&current, &e));
        }
        store::insert_refund(&mut tx, &refund).await?;
        tx.commit().await?;

        let provider = self.provider(&payment.provider)?;
        let answer = provider
            .refund(
                &payment.provider_ref,
                wanted,
                &payment.currency,
                &refund.id.to_string(),
            )
            .await;
        let mut tx = self.db.begin_write().await?;
        let provider_ref = match answer {
            Ok(reference) => reference,
            Err(e) => {
                store::finish_refund(&mut tx, refund.id, "failed", None).await?;
                store::unearmark_refund(&mut tx, payment_id, wanted, now_millis()).await?;
                tx.commit().await?;
                return Err(e.into());
            }
        };
        refund.status = "succeeded".into();
        refund.provider_ref = Some(provider_ref.clone());
        store::finish_refund(&mut tx, refund.id, "succeeded", Some(&provider_ref)).await?;
        let current = store::find(&mut *tx, payment_id)
            .await?
            .ok_or(PaymentError::NotFound("payment"))?;
        let status = Status::after_refunds(current.amount, current.refunded_amount);
        store::set_status(&mut tx, payment_id, status, now_millis()).await?;
        let event = PaymentRefunded {
            payment_id,
            order_id: payment.order_id,
            refund_id: refund.id,
            amount: wanted,
            refunded_total: current.refunded_amount,
            currency: payment.currency.clone(),
            fully_refunded: status == Status::Refunded,
            customer_id: payment.customer_id,
            email: payment.email.clone(),
        };
        self.outbox
            .append(&mut tx, &envelope(payment.order_id, &event, None)?)
            .await?;
        let after = Payment {
            status,
            refunded_amount: current.refunded_amount,
            ..current
        };
        let body = render(&refund, &after)?;
        if let Some((caller, key)) = idem {
            let stored = StoredResponse {
                status: 201,
                body: body.clone(),
            };
            idempotency::complete(&mut tx, caller, key, &stored).await?;
        }
        self.outbox.commit(tx).await?;
        metrics::counter!("payments_refunded_total", "provider" => payment.provider.clone())
            .increment(1);
        tracing::info!(payment.id = %payment_id, refund.id = %refund.id, amount = wanted, "refunded");
        Ok(Refunded::Created(Box::new(refund), body))
    }

    /// `order.placed`: remember what the order owes.
    pub async fn on_order_placed(&self, event: &Envelope) -> anyhow::Result<()> {
        let placed: OrderPlaced = event.payload()?;
        let mut tx = self.db.begin_write().await?;
        if inbox::claim(&mut tx, CONSUMER, event.id).await? {
            let due = Due {
                order_id: placed.order_id,
                customer_id: placed.customer_id,
                email: placed.email,
                amount: placed.total,
                currency: placed.currency,
                provider: placed.payment_provider,
                cancelled: false,
            };
            store::insert_due(&mut tx, &due, now_millis()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `inventory.reserved`: open the order's payment with its provider
    /// and announce it. At most one payment per order (a unique index).
    pub async fn on_inventory_reserved(&self, event: &Envelope) -> anyhow::Result<()> {
        let reserved: InventoryReserved = event.payload()?;
        let order_id = reserved.order_id;
        let Some(due) = store::find_due(self.db.pool(), order_id).await? else {
            // order.placed comes first on the bus; if it has not been
            // handled yet, a redelivery will find it.
            anyhow::bail!("no order.placed seen yet for order {order_id}");
        };
        if due.cancelled
            || store::find_by_order(self.db.pool(), order_id)
                .await?
                .is_some()
        {
            let mut tx = self.db.begin_write().await?;
            inbox::claim(&mut tx, CONSUMER, event.id).await?;
            tx.commit().await?;
            return Ok(());
        }
        let payment_id = if due.customer_id.is_some() {
            Uuid::now_v7()
        } else {
            // A guest's payment id is a capability, like the order's.
            Uuid::new_v4()
        };
        // Outside the transaction: a provider is a network call. Its
        // idempotency key is the order, so a retry opens nothing new there.
        let opened = match self.provider(&due.provider) {
            Ok(provider) => {
                provider
                    .create(NewPayment {
                        payment_id,
                        order_id,
                        amount: due.amount,
                        currency: &due.currency,
                        idempotency_key: format!("order-{order_id}"),
                    })
                    .await
            }
            // Offered by orders but not enabled here (a configuration
            // mismatch between processes): the order cannot be paid.
            Err(e) => Err(e),
        };
        // An outage leaves the payment pending and unopened (the reopener
        // tries again; the order waits); a refusal fails it.
        let (opened, refused) = match opened {
            Ok(opened) => (Some(opened), None),
            Err(ProviderError::Transient(reason)) => {
                tracing::warn!(order.id = %order_id, provider = %due.provider, reason = %reason, "provider unavailable; the payment will be opened later");
                (None, None)
            }
            Err(e) => {
                tracing::warn!(order.id = %order_id, provider = %due.provider, error.message = %e, "provider refused to open the payment");
                (None, Some(Outcome::Failed("provider_refused".into())))
            }
        };
        let now = now_millis();
        let opened = opened.unwrap_or(OpenedPayment {
            reference: String::new(),
            client_secret: None,
            approval_url: None,
        });
        let payment = Payment {
            id: payment_id,
            order_id,
            customer_id: due.customer_id,
            email: due.email.clone(),
            provider: due.provider.clone(),
            provider_ref: opened.reference,
            status: Status::Pending,
            amount: due.amount,
            currency: due.currency.clone(),
            refunded_amount: 0,
            failure_code: None,
            client_secret: opened.client_secret,
            approval_url: opened.approval_url,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, CONSUMER, event.id).await? {
            tx.commit().await?;
            return Ok(());
        }
        // The order may have been cancelled while the provider answered.
        let cancelled = store::find_due(&mut *tx, order_id)
            .await?
            .is_some_and(|d| d.cancelled);
        if cancelled {
            tx.commit().await?;
            return Ok(());
        }
        if let Err(e) = store::insert_payment(&mut tx, &payment).await {
            if platform::db::is_unique_violation(&e, store::ORDER_KEY, "payment.order_id") {
                return Ok(());
            }
            return Err(e.into());
        }
        let created = PaymentCreated {
            payment_id,
            order_id,
            provider: payment.provider.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
        };
        self.outbox
            .append(&mut tx, &envelope(order_id, &created, event.trace.clone())?)
            .await?;
        if let Some(failed) = refused {
            self.settle_in(&mut tx, &payment, &failed, event.trace.clone())
                .await?;
        }
        self.outbox.commit(tx).await?;
        Ok(())
    }

    /// Opens the payments a provider outage left unopened; returns how
    /// many it opened. Called every `reopen_interval` by [`run_reopener`].
    pub async fn reopen(&self) -> anyhow::Result<usize> {
        let mut opened = 0;
        for payment in store::unopened(self.db.pool(), 100).await? {
            let Ok(provider) = self.provider(&payment.provider) else {
                self.settle(&payment, &Outcome::Failed("provider_refused".into()), None)
                    .await?;
                continue;
            };
            let answer = provider
                .create(NewPayment {
                    payment_id: payment.id,
                    order_id: payment.order_id,
                    amount: payment.amount,
                    currency: &payment.currency,
                    idempotency_key: format!("order-{}", payment.order_id),
                })
                .await;
            match answer {
                Ok(at_provider) => {
                    let mut tx = self.db.begin_write().await?;
                    let recorded =
                        store::set_opened(&mut tx, payment.id, &at_provider, now_millis()).await?;
                    tx.commit().await?;
                    if recorded {
                        opened += 1;
                        tracing::info!(payment.id = %payment.id, order.id = %payment.order_id, "payment opened after a provider outage");
                    } else if let Err(e) = provider.cancel(&at_provider.reference).await {
                        // Cancelled meanwhile: nothing may stay open there.
                        tracing::warn!(payment.id = %payment.id, error.message = %e, "voiding a payment opened too late failed");
                    }
                }
                Err(ProviderError::Transient(reason)) => {
                    tracing::warn!(payment.id = %payment.id, provider = %payment.provider, reason = %reason, "provider still unavailable");
                    // The rest would meet the same outage.
                    break;
                }
                Err(e) => {
                    tracing::warn!(payment.id = %payment.id, error.message = %e, "provider refused to open the payment");
                    self.settle(&payment, &Outcome::Failed("provider_refused".into()), None)
                        .await?;
                }
            }
        }
        Ok(opened)
    }

    /// A provider's webhook: verified, then acted on once per event id.
    pub async fn handle_webhook(
        &self,
        provider_name: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<()> {
        let Ok(provider) = self.provider(provider_name) else {
            return Err(PaymentError::Webhook(format!(
                "{} is not configured on this server.",
                display_name(provider_name)
            )));
        };
        let event = match provider.verify_webhook(headers, body).await {
            Ok(Some(event)) => event,
            Ok(None) => return Ok(()),
            Err(e @ ProviderError::Transient(_)) => return Err(e.into()),
            Err(e) => {
                metrics::counter!("payments_webhooks_refused_total", "provider" => provider.name())
                    .increment(1);
                return Err(PaymentError::Webhook(e.to_string()));
            }
        };
        let name = provider.name();
        if store::webhook_seen(self.db.pool(), name, &event.id).await? {
            return Ok(());
        }
        let payment = store::find_by_reference(self.db.pool(), name, &event.reference).await?;
        // Money at the provider comes first; it is idempotent there, so a
        // redelivery after a failure here repeats it harmlessly.
        let outcome = match (&event.happened, &payment) {
            (Happened::AwaitsCapture, Some(p)) if p.status == Status::Pending => {
                let cancelled = store::find_due(self.db.pool(), p.order_id)
                    .await?
                    .is_none_or(|d| d.cancelled);
                let answer = if cancelled {
                    // Releasing a hold beats charging and refunding.
                    provider.cancel(&p.provider_ref).await.map(|()| None)
                } else {
                    provider.capture(&p.provider_ref, p.amount).await.map(Some)
                };
                match answer {
                    Ok(outcome) => outcome,
                    // The provider sends the event again later.
                    Err(e @ ProviderError::Transient(_)) => return Err(e.into()),
                    Err(e) => {
                        // Repeating would be refused again: acknowledged.
                        tracing::warn!(payment.id = %p.id, error.message = %e, "acting on an authorisation was refused");
                        None
                    }
                }
            }
            (Happened::Succeeded, _) => Some(Outcome::Succeeded),
            (Happened::Failed(code), _) => Some(Outcome::Failed(code.clone())),
            _ => None,
        };
        let mut tx = self.db.begin_write().await?;
        if !store::claim_webhook(&mut tx, name, &event.id, now_millis()).await? {
            return Ok(());
        }
        let Some(payment) = payment else {
            // Not ours (another shop on the same account) or not yet
            // recorded: acknowledged, nothing to do.
            tracing::info!(provider = name, event.id = %event.id, reference = %event.reference, "webhook for an unknown payment");
            tx.commit().await?;
            return Ok(());
        };
        if let Some(outcome) = outcome {
            let settled = self.settle_in(&mut tx, &payment, &outcome, None).await?;
            if !settled && outcome == Outcome::Succeeded && payment.status == Status::Failed {
                // Paid at the provider after we gave up on it (the order
                // was cancelled): the money must go back by hand.
                metrics::counter!("payments_orphan_charges_total", "provider" => name).increment(1);
                tracing::error!(payment.id = %payment.id, order.id = %payment.order_id, "the provider took money for a payment already failed here; refund it at the provider");
            }
        }
        if let Happened::Refunded { total } = event.happened {
            self.refunded_at_provider(&mut tx, &payment, total).await?;
        }
        self.outbox.commit(tx).await?;
        Ok(())
    }

    /// A refund made at the provider (its dashboard), not through us:
    /// recorded so that our refunded amount matches theirs.
    async fn refunded_at_provider(
        &self,
        tx: &mut platform::db::WriteTx,
        payment: &Payment,
        total: i64,
    ) -> Result<()> {
        let current = store::find(&mut **tx, payment.id)
            .await?
            .ok_or(PaymentError::NotFound("payment"))?;
        let extra = total.min(current.amount) - current.refunded_amount;
        if extra <= 0 || !store::earmark_refund(tx, payment.id, extra, now_millis()).await? {
            // Ours (already counted) or nothing refundable.
            return Ok(());
        }
        let refund = Refund {
            id: Uuid::now_v7(),
            payment_id: payment.id,
            amount: extra,
            status: "succeeded".into(),
            provider_ref: None,
            reason: format!("refunded at {}", payment.provider),
            created_at: now_millis(),
        };
        store::insert_refund(tx, &refund).await?;
        let refunded_total = current.refunded_amount + extra;
        let status = Status::after_refunds(current.amount, refunded_total);
        store::set_status(tx, payment.id, status, now_millis()).await?;
        let event = PaymentRefunded {
            payment_id: payment.id,
            order_id: payment.order_id,
            refund_id: refund.id,
            amount: extra,
            refunded_total,
            currency: payment.currency.clone(),
            fully_refunded: status == Status::Refunded,
            customer_id: payment.customer_id,
            email: payment.email.clone(),
        };
        self.outbox
            .append(tx, &envelope(payment.order_id, &event, None)?)
            .await?;
        Ok(())
    }

    /// `order.cancelled`: no payment is opened for it any more; a pending
    /// one is voided; money taken goes back in full. Every step is
    /// idempotent, so a redelivery after a failure (the provider down)
    /// finishes the job; the inbox row is written last.
    pub async fn on_order_cancelled(&self, event: &Envelope) -> anyhow::Result<()> {
        let cancelled: OrderCancelled = event.payload()?;
        let order_id = cancelled.order_id;
        let mut tx = self.db.begin_write().await?;
        store::cancel_due(&mut tx, order_id).await?;
        let mut voided = None;
        if let Some(p) = store::find_by_order(&mut *tx, order_id).await?
            && p.status == Status::Pending
            && store::settle(
                &mut tx,
                p.id,
                Status::Failed,
                Some("order_cancelled"),
                now_millis(),
            )
            .await?
        {
            voided = Some(p);
        }
        tx.commit().await?;
        if let Some(payment) = voided.filter(Payment::is_opened) {
            // Best effort: the test provider holds nothing; a real one
            // expires an abandoned payment by itself.
            if let Err(e) = self
                .provider(&payment.provider)?
                .cancel(&payment.provider_ref)
                .await
            {
                tracing::warn!(payment.id = %payment.id, error.message = %e, "voiding at the provider failed");
            }
        } else if let Some(payment) = store::find_by_order(self.db.pool(), order_id).await?
            && payment.status.refundable()
        {
            let render: Render<'_> = &|_, _| Ok(String::new());
            let reason = format!("order cancelled ({})", cancelled.reason);
            match self
                .refund_claimed(payment.id, None, &reason, None, render)
                .await
            {
                // Refunded meanwhile (an admin, an earlier delivery).
                Ok(_) | Err(PaymentError::WrongStatus { .. } | PaymentError::NothingToRefund) => {}
                Err(e) => anyhow::bail!("refunding cancelled order {order_id}: {e}"),
            }
        }
        let mut tx = self.db.begin_write().await?;
        inbox::claim(&mut tx, CONSUMER, event.id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Opens what provider outages left unopened, every `reopen_interval`.
pub async fn run_reopener(service: Arc<PaymentsService>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(service.reopen_interval) => {}
            () = stop.cancelled() => return,
        }
        if let Err(e) = service.reopen().await {
            tracing::warn!(error.message = %e, "reopening payments failed");
        }
    }
}

fn display_name(provider: &str) -> &str {
    match provider {
        "stripe" => "Stripe",
        "paypal" => "PayPal",
        other => other,
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
    let trace = trace.or_else(platform::telemetry::current_trace_id);
    Envelope::new(crate::NAME, order_id, event)
        .map(|e| e.with_trace(trace))
        .map_err(|e| PaymentError::Unexpected(anyhow::Error::new(e).context("encoding an event")))
}
