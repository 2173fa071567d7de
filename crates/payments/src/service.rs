//! The payments service's use cases: opening a payment when stock is held,
//! confirming it (test provider), refunds, and voiding or refunding when an
//! order is cancelled.

use std::{collections::HashMap, sync::Arc};

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
    providers::{Confirmation, NewPayment, Outcome, PaymentProvider, ProviderError},
    store::{self, Due, Payment, Refund},
};

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
}

impl std::fmt::Debug for PaymentsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentsService").finish_non_exhaustive()
    }
}

impl PaymentsService {
    /// The service over a migrated database with the configured providers.
    pub fn new(db: Db, cfg: &PaymentsConfig) -> Self {
        let outbox = Outbox::new(db.clone(), crate::NAME);
        let mut providers: HashMap<&'static str, Arc<dyn PaymentProvider>> = HashMap::new();
        if cfg.test_provider {
            let test: Arc<dyn PaymentProvider> = Arc::new(crate::providers::test::TestProvider);
            providers.insert(test.name(), test);
        }
        Self {
            db,
            outbox,
            providers,
        }
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

    /// Confirms a pending payment with a test card (the test provider's
    /// stand-in for a checkout form); publishes the outcome.
    pub async fn confirm(
        &self,
        payment_id: Uuid,
        caller: Option<&AuthUser>,
        card_number: &str,
    ) -> Result<Payment> {
        let payment = self.get(payment_id, caller).await?;
        if payment.provider != "test" {
            return Err(PaymentError::WrongStatus {
                status: payment.status.as_str(),
                detail: format!(
                    "a {} payment is confirmed with {}, not here",
                    payment.provider, payment.provider
                ),
            });
        }
        if payment.status != Status::Pending {
            return Err(not_pending(&payment));
        }
        let card = crate::domain::test_cards::normalise(card_number)
            .ok_or_else(|| PaymentError::field("card_number", "must be 12 to 19 digits"))?;
        let outcome = self
            .provider(&payment.provider)?
            .confirm(&payment.provider_ref, &Confirmation { card_number: card })
            .await
            .map_err(|e| match e {
                ProviderError::Refused(reason) => PaymentError::field("card_number", reason),
                other => PaymentError::Provider(other),
            })?;
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        let (status, failure_code) = match &outcome {
            Outcome::Succeeded => (Status::Succeeded, None),
            Outcome::Failed(code) => (Status::Failed, Some(code.as_str())),
        };
        if !store::settle(&mut tx, payment.id, status, failure_code, now).await? {
            // Another confirmation (or a void) won the race.
            drop(tx);
            let current = self.get(payment_id, caller).await?;
            return Err(not_pending(&current));
        }
        let event = match &outcome {
            Outcome::Succeeded => {
                metrics::counter!("payments_succeeded_total", "provider" => "test").increment(1);
                envelope(
                    payment.order_id,
                    &PaymentSucceeded {
                        payment_id: payment.id,
                        order_id: payment.order_id,
                        amount: payment.amount,
                        currency: payment.currency.clone(),
                    },
                    None,
                )?
            }
            Outcome::Failed(code) => {
                metrics::counter!("payments_failed_total", "provider" => "test", "code" => code.clone())
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
                    None,
                )?
            }
        };
        self.outbox.append(&mut tx, &event).await?;
        self.outbox.commit(tx).await?;
        tracing::info!(payment.id = %payment.id, order.id = %payment.order_id, status = status.as_str(), "payment confirmed");
        self.get(payment_id, caller).await
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
            .refund(&payment.provider_ref, wanted, &refund.id.to_string())
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
        let opened = self
            .provider(&due.provider)?
            .create(NewPayment {
                payment_id,
                order_id,
                amount: due.amount,
                currency: &due.currency,
                idempotency_key: format!("order-{order_id}"),
            })
            .await?;
        let now = now_millis();
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
        self.outbox.commit(tx).await?;
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
        if let Some(payment) = voided {
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
                Ok(_) | Err(PaymentError::WrongStatus { .. }) => {}
                Err(e) => anyhow::bail!("refunding cancelled order {order_id}: {e}"),
            }
        }
        let mut tx = self.db.begin_write().await?;
        inbox::claim(&mut tx, CONSUMER, event.id).await?;
        tx.commit().await?;
        Ok(())
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
