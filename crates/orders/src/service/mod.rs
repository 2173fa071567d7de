//! The orders service's use cases: placing an order, reading and listing,
//! the admin's and customer's transitions, and the saga's reactions to
//! catalog and payments events.

use std::sync::Arc;

use contracts::{
    clients::{
        ClientError,
        cart::{CartCaller, CartClient, OrderedUnits},
        pricing::{PricingClient, QuoteLine, QuoteRequest, Refused, customer_key},
    },
    events::{
        Event,
        inventory::{InventoryReleased, InventoryReservationFailed, InventoryReserved},
        orders::{
            OrderAwaitingPayment, OrderCancelled, OrderDelivered, OrderLine, OrderPaid,
            OrderPlaced, OrderRef, OrderShipped, PromotionUse,
        },
        payments::{PaymentCreated, PaymentFailed, PaymentRefunded, PaymentSucceeded},
    },
};
use eventbus::{Envelope, inbox, outbox::Outbox};
pub use platform::idempotency::Idempotency;
use platform::{
    address::{Address, AddressFields},
    auth::AuthUser,
    db::Db,
    email::Email,
    http::pagination::{Page, PageRequest},
    idempotency::{self, StoredResponse},
    time::now_millis,
};
use uuid::Uuid;

use crate::{
    config::OrdersConfig,
    domain::{
        checkout,
        lifecycle::{CancelReason, Status, Tracking},
        order::{AppliedPromotion, Line, NewOrder, Order, PlaceError, Priced, ShippingChoice},
    },
    error::{OrderError, Result},
    store::{self, Filter},
};

mod place;
mod saga;
mod transitions;

/// The inbox consumer of the saga's events.
const SAGA_CONSUMER: &str = "orders-saga";

/// What `POST /orders` carries, before validation.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    /// The cart to check out.
    pub cart_id: Uuid,
    /// Required of guests; a customer's order takes the account's.
    pub email: Option<String>,
    /// Where to ship.
    pub shipping_address: AddressFields,
    /// `test`, `stripe`, `paypal`.
    pub payment_provider: String,
    /// The shipping option chosen; None: the cheapest serving the address.
    pub shipping_option_id: Option<Uuid>,
}

/// What placing answered.
#[derive(Debug)]
pub enum Placed {
    /// A new order; the response body is already recorded for replays.
    Created(Box<Order>, String),
    /// The key was used before with this request: its first answer.
    Replay(StoredResponse),
}

/// Renders the response body of a new order (stored for replays).
pub type Render<'a> = &'a (dyn Fn(&Order) -> anyhow::Result<String> + Send + Sync);

/// The orders service.
pub struct OrdersService {
    db: Db,
    cfg: OrdersConfig,
    outbox: Arc<Outbox>,
    cart: Arc<dyn CartClient>,
    pricing: Arc<dyn PricingClient>,
    /// How long an in-flight `Idempotency-Key` holds (see
    /// [`idempotency::in_flight_lease`]).
    in_flight_lease: std::time::Duration,
}

impl std::fmt::Debug for OrdersService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdersService").finish_non_exhaustive()
    }
}

impl OrdersService {
    /// The service over a migrated database, reading carts through `cart`.
    /// The payment providers a checkout may name here.
    pub fn payment_providers(&self) -> &[String] {
        &self.cfg.payment_providers
    }

    pub fn new(
        db: Db,
        cfg: OrdersConfig,
        cart: Arc<dyn CartClient>,
        pricing: Arc<dyn PricingClient>,
        in_flight_lease: std::time::Duration,
    ) -> Self {
        let outbox = Outbox::new(db.clone(), crate::NAME);
        Self {
            db,
            cfg,
            outbox,
            cart,
            pricing,
            in_flight_lease,
        }
    }

    /// Gives back the promotion uses of an order that `events` cancel, in
    /// the transaction that cancels it (an order is cancelled once).
    async fn release_if_cancelled(
        &self,
        tx: &mut sqlx::AnyConnection,
        order: &Order,
        events: &[Envelope],
    ) -> Result<()> {
        if !order.promotions.is_empty()
            && events.iter().any(|e| e.event_type == OrderCancelled::TYPE)
        {
            let key = customer_key(order.customer_id, &order.email);
            store::release_uses(tx, order, &key).await?;
        }
        Ok(())
    }

    /// Publishes how long the longest-waiting order has been awaiting its
    /// payment (`orders_awaiting_payment_oldest_age_seconds`, 0 when none
    /// waits): past the reservation time, the checkout saga is stuck.
    pub async fn watch_awaiting_payment(&self) -> Result<()> {
        let oldest = store::oldest_awaiting_payment(self.db.pool()).await?;
        let age_ms = oldest.map_or(0, |at| (now_millis() - at).max(0));
        metrics::gauge!("orders_awaiting_payment_oldest_age_seconds").set(age_ms as f64 / 1000.0);
        Ok(())
    }

    /// The outbox, for its relay.
    pub fn outbox(&self) -> Arc<Outbox> {
        self.outbox.clone()
    }
}

fn may_see(order: &Order, caller: Option<&AuthUser>) -> bool {
    match (order.customer_id, caller) {
        (None, _) => true,
        (Some(_), Some(c)) if c.is_admin() => true,
        (Some(owner), Some(c)) => owner == c.id,
        (Some(_), None) => false,
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
        .map_err(|e| OrderError::Unexpected(anyhow::Error::new(e).context("encoding an event")))
}

fn order_ref(order: &Order) -> OrderRef {
    OrderRef {
        order_id: order.id,
        number: order.number.clone(),
        customer_id: order.customer_id,
        email: order.email.clone(),
    }
}

fn count(order: &Order, events: &[Envelope]) {
    for event in events {
        if event.event_type == OrderPaid::TYPE {
            metrics::counter!("orders_paid_total").increment(1);
            // Placed to paid: the saga's hops and the customer's payment.
            let seconds = (now_millis() - order.created_at).max(0) as f64 / 1000.0;
            metrics::histogram!("orders_checkout_duration_seconds").record(seconds);
            // Minor units of each currency the shop sells in (a bounded set).
            metrics::counter!("orders_revenue_minor_units_total", "currency" => order.currency.clone())
                .increment(u64::try_from(order.total).unwrap_or(0));
        } else if event.event_type == OrderCancelled::TYPE {
            let reason = order
                .lifecycle
                .cancel_reason
                .map_or("admin", CancelReason::as_str);
            metrics::counter!("orders_cancelled_total", "reason" => reason).increment(1);
        }
    }
}
