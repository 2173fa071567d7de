//! Refunds: earmarked under the payment's lock, sent to the provider, recorded
//! once.

use platform::idempotency::{Claimed, Once};

use super::*;

impl PaymentsService {
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
        let refunded = idempotency::once(
            &self.db,
            &caller,
            idem.as_ref(),
            // Held for the key's whole life: a refund asks the provider
            // between two transactions, and a takeover after a crash there
            // could refund twice (its provider key is the refund's id, new
            // per attempt).
            std::time::Duration::from_millis(idempotency::TTL_MS.unsigned_abs()),
            |key| self.refund_claimed(payment_id, amount, "requested by an admin", key, render),
        )
        .await?;
        Ok(match refunded {
            Once::Ran(refunded) => refunded,
            Once::Replay(stored) => Refunded::Replay(stored),
        })
    }

    /// Earmarks the amount, asks the provider, records the outcome. The
    /// earmark (a conditional update) is what keeps concurrent refunds
    /// from returning more than was taken.
    pub(super) async fn refund_claimed(
        &self,
        payment_id: Uuid,
        amount: Option<i64>,
        reason: &str,
        key: Option<Claimed<'_>>,
        render: Render<'_>,
    ) -> Result<Refunded> {
        let payment = store::find(self.db.pool(), payment_id)
            .await?
            .ok_or(PaymentError::NotFound("payment"))?;
        let wanted = payment.refund(amount).map_err(|e| refused(&payment, &e))?;
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
            let e = current
                .refund(Some(wanted))
                .err()
                .unwrap_or(RefundRefused::TooMuch {
                    remaining: current.amount - current.refunded_amount,
                });
            return Err(refused(&current, &e));
        }
        store::insert_refund(&mut tx, &refund).await?;
        tx.commit().await?;

        let provider = self.provider(payment.provider)?;
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
        if let Some(key) = key {
            let stored = StoredResponse {
                status: 201,
                body: body.clone(),
            };
            key.complete(&mut tx, &stored).await?;
        }
        self.outbox.commit(tx).await?;
        metrics::counter!("payments_refunded_total", "provider" => payment.provider.as_str())
            .increment(1);
        tracing::info!(payment.id = %payment_id, refund.id = %refund.id, amount = wanted, "refunded");
        Ok(Refunded::Created(Box::new(refund), body))
    }

    /// A refund made at the provider (its dashboard), not through us:
    /// recorded so that our refunded amount matches theirs.
    pub(super) async fn refunded_at_provider(
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
}
