//! Provider webhooks: signed notices of what happened at Stripe or PayPal.

use super::*;

impl PaymentsService {
    /// A provider's webhook: verified, then acted on once per event id.
    pub async fn handle_webhook(
        &self,
        which: Provider,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<()> {
        let Ok(provider) = self.provider(which) else {
            return Err(PaymentError::Webhook(format!(
                "{} is not configured on this server.",
                which.display_name()
            )));
        };
        let event = match provider.verify_webhook(headers, body).await {
            Ok(Some(event)) => event,
            Ok(None) => return Ok(()),
            Err(e @ ProviderError::Transient(_)) => return Err(e.into()),
            Err(e) => {
                metrics::counter!("payments_webhooks_refused_total", "provider" => provider.name().as_str())
                    .increment(1);
                return Err(PaymentError::Webhook(e.to_string()));
            }
        };
        let name = provider.name().as_str();
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
}
