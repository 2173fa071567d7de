//! Every event type on the bus, with its payload. The envelope around each
//! payload is `eventbus::Envelope` (`{version, id, type, source, key,
//! occurred_at, data, trace}`); `key` is the aggregate id, which orders
//! delivery.
//!
//! | type | source | key | data |
//! |---|---|---|---|
//! | `user.registered` | users | user id | [`users::UserRegistered`] |
//! | `user.email_verification_requested` | users | user id | [`users::EmailVerificationRequested`] |
//! | `user.password_reset_requested` | users | user id | [`users::PasswordResetRequested`] |
//! | `user.profile_updated` | users | user id | [`users::UserProfileUpdated`] |
//! | `product.updated` | catalog | product id | [`catalog::ProductUpdated`] |
//! | `inventory.reserved` | catalog | order id | [`inventory::InventoryReserved`] |
//! | `inventory.reservation_failed` | catalog | order id | [`inventory::InventoryReservationFailed`] |
//! | `inventory.released` | catalog | order id | [`inventory::InventoryReleased`] |
//! | `order.placed` | orders | order id | [`orders::OrderPlaced`] |
//! | `order.awaiting_payment` | orders | order id | [`orders::OrderAwaitingPayment`] |
//! | `order.paid` | orders | order id | [`orders::OrderPaid`] |
//! | `order.shipped` | orders | order id | [`orders::OrderShipped`] |
//! | `order.delivered` | orders | order id | [`orders::OrderDelivered`] |
//! | `order.cancelled` | orders | order id | [`orders::OrderCancelled`] |
//! | `payment.created` | payments | order id | [`payments::PaymentCreated`] |
//! | `payment.succeeded` | payments | order id | [`payments::PaymentSucceeded`] |
//! | `payment.failed` | payments | order id | [`payments::PaymentFailed`] |
//! | `payment.refunded` | payments | order id | [`payments::PaymentRefunded`] |
//!
//! Rules: a type's payload only gains optional fields; anything else is a
//! new type (`user.registered.v2`). Consumers ignore fields they do not know.

pub mod catalog;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod users;

/// An event payload with its wire type name.
pub trait Event: serde::Serialize + serde::de::DeserializeOwned {
    /// The `type` of the envelope, e.g. `user.registered`.
    const TYPE: &'static str;
}
