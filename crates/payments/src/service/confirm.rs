//! Confirming a payment with its provider, and settling its outcome.

use super::*;

impl PaymentsService {
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
        let confirmation = match payment.provider {
            Provider::Test => {
                let card =
                    card_number.ok_or_else(|| PaymentError::field("card_number", "is required"))?;
                let card = crate::domain::test_cards::normalise(card)
                    .ok_or_else(|| PaymentError::field("card_number", "must be 12 to 19 digits"))?;
                Confirmation {
                    card_number: Some(card),
                }
            }
            Provider::Paypal => Confirmation::default(),
            Provider::Stripe => {
                return Err(PaymentError::WrongStatus {
                    status: payment.status.as_str(),
                    detail: format!(
                        "A {} payment is confirmed by the customer's browser with its client_secret, not here.",
                        payment.provider.display_name()
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
            .provider(payment.provider)?
            .confirm(&payment.provider_ref, &confirmation)
            .await
            .map_err(|e| match e {
                ProviderError::Refused(reason) if payment.provider == Provider::Test => {
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
    pub(super) async fn settle(
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

    pub(super) async fn settle_in(
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
        let provider = payment.provider.as_str();
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
}
