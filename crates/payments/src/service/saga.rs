//! Payments' side of the checkout saga: a payment opened for each order whose
//! stock is held, voided when the order is cancelled, and reopened when its
//! provider call was cut short.

use super::*;

impl PaymentsService {
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
                provider: Provider::parse(&placed.payment_provider).ok_or_else(|| {
                    anyhow::anyhow!(
                        "order.placed names an unknown provider `{}`",
                        placed.payment_provider
                    )
                })?,
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
        let opened = match self.provider(due.provider) {
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
            provider: due.provider,
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
            provider: payment.provider.as_str().to_owned(),
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
    /// many it opened. Called every `reopen_interval` by the reopener task
    /// (see [`crate::module`]).
    pub async fn reopen(&self) -> anyhow::Result<usize> {
        let mut opened = 0;
        for payment in store::unopened(self.db.pool(), 100).await? {
            let Ok(provider) = self.provider(payment.provider) else {
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
                .provider(payment.provider)?
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
