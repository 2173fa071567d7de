//! The notifications service's subscription: every event a customer
//! should hear about, and the users' contact details.

use std::sync::Arc;

use contracts::events::{
    Event,
    orders::{OrderCancelled, OrderDelivered, OrderPaid, OrderPlaced, OrderShipped},
    payments::{PaymentFailed, PaymentRefunded},
    users::{
        EmailVerificationRequested, PasswordResetRequested, UserProfileUpdated, UserRegistered,
    },
};
use eventbus::{Envelope, Handler, Subscription};
use futures::future::BoxFuture;

use crate::service::NotificationsService;

/// `notifications-events`.
pub fn subscription() -> Subscription {
    Subscription::new(
        crate::NAME,
        "events",
        &[
            UserRegistered::TYPE,
            EmailVerificationRequested::TYPE,
            PasswordResetRequested::TYPE,
            UserProfileUpdated::TYPE,
            OrderPlaced::TYPE,
            OrderPaid::TYPE,
            OrderCancelled::TYPE,
            OrderShipped::TYPE,
            OrderDelivered::TYPE,
            PaymentFailed::TYPE,
            PaymentRefunded::TYPE,
        ],
    )
}

/// Hands every event to the service.
pub struct Notify(pub Arc<NotificationsService>);

impl Handler for Notify {
    fn handle<'a>(&'a self, event: &'a Envelope) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { self.0.on_event(event).await })
    }
}
