//! The orders service's use cases: placing an order, reading and listing,
//! the admin's and customer's transitions, and the saga's reactions to
//! catalog and payments events.

use std::sync::Arc;

use contracts::{
    clients::{
        ClientError,
        cart::{CartCaller, CartClient, OrderedUnits},
    },
    events::{
        Event,
        inventory::{InventoryReleased, InventoryReservationFailed, InventoryReserved},
        orders::{
            OrderAwaitingPayment, OrderCancelled, OrderDelivered, OrderLine, OrderPaid,
            OrderPlaced, OrderRef, OrderShipped,
        },
        payments::{PaymentCreated, PaymentFailed, PaymentRefunded, PaymentSucceeded},
    },
};
use eventbus::{Envelope, inbox, outbox::Outbox};
use platform::{
    address::{Address, AddressFields},
    auth::AuthUser,
    db::Db,
    email::Email,
    http::pagination::{Page, PageRequest},
    idempotency::{self, Claim, StoredResponse},
    time::now_millis,
};
use uuid::Uuid;

use crate::{
    config::OrdersConfig,
    domain::{
        checkout,
        order::{CancelReason, Lifecycle, Status, Tracking},
    },
    error::{OrderError, Result},
    store::{self, Filter, Line, Order},
};

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
}

/// The request's `Idempotency-Key` and the fingerprint of its request.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The key.
    pub key: String,
    /// See [`idempotency::fingerprint`].
    pub fingerprint: String,
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
        in_flight_lease: std::time::Duration,
    ) -> Self {
        let outbox = Outbox::new(db.clone(), crate::NAME);
        Self {
            db,
            cfg,
            outbox,
            cart,
            in_flight_lease,
        }
    }

    /// The outbox, for its relay.
    pub fn outbox(&self) -> Arc<Outbox> {
        self.outbox.clone()
    }

    /// Places an order from a cart: `pending`, with `order.placed` in the
    /// same transaction (and the idempotent answer, when a key was sent).
    pub async fn place(
        &self,
        caller: Option<&AuthUser>,
        bearer: Option<&str>,
        input: PlaceOrder,
        idem: Option<Idempotency>,
        render: Render<'_>,
    ) -> Result<Placed> {
        let (email, address) = self.check(caller, &input)?;
        // A guest's keys live with the cart, the only thing that is theirs.
        let idem_caller =
            caller.map_or_else(|| format!("guest:{}", input.cart_id), |c| c.id.to_string());
        if let Some(idem) = &idem {
            let claim = idempotency::claim(
                &self.db,
                &idem_caller,
                &idem.key,
                &idem.fingerprint,
                now_millis(),
                // Placing writes the order and the key's answer in one
                // transaction: a claim past its lease left nothing behind.
                self.in_flight_lease,
            )
            .await?;
            if let Claim::Replay(stored) = claim {
                return Ok(Placed::Replay(stored));
            }
            if let Some(problem) = idempotency::problem(&claim) {
                return Err(problem.into());
            }
        }
        let placed = self
            .place_claimed(
                caller,
                bearer,
                &input,
                email,
                address,
                idem.as_ref()
                    .map(|i| (idem_caller.as_str(), i.key.as_str())),
                render,
            )
            .await;
        if placed.is_err()
            && let Some(idem) = &idem
        {
            // Nothing was written: the client may retry with the same key.
            idempotency::release_after_failure(&self.db, &idem_caller, &idem.key).await;
        }
        placed
    }

    fn check(&self, caller: Option<&AuthUser>, input: &PlaceOrder) -> Result<(Email, Address)> {
        let mut errors = Vec::new();
        if !self.cfg.payment_providers.contains(&input.payment_provider) {
            errors.push(platform::FieldError::new(
                "payment_provider",
                format!(
                    "is not a provider of this shop; use one of: {}",
                    self.cfg.payment_providers.join(", ")
                ),
            ));
        }
        let address = Address::parse(&input.shipping_address.input()).map_err(|errs| {
            errs.into_iter()
                .map(|e| {
                    platform::FieldError::new(format!("shipping_address.{}", e.field), e.message)
                })
                .collect::<Vec<_>>()
        });
        let address = match address {
            Ok(a) => Some(a),
            Err(errs) => {
                errors.extend(errs);
                None
            }
        };
        // A customer's order carries the account's email; a guest gives one.
        let raw_email = caller
            .and_then(|c| c.email.as_deref())
            .or(input.email.as_deref());
        let email = match raw_email.map(Email::parse) {
            Some(Ok(email)) => Some(email),
            Some(Err(reason)) => {
                errors.push(platform::FieldError::new("email", reason));
                None
            }
            None => {
                errors.push(platform::FieldError::new(
                    "email",
                    "is required for a guest checkout",
                ));
                None
            }
        };
        match (email, address) {
            (Some(email), Some(address)) if errors.is_empty() => Ok((email, address)),
            _ => Err(OrderError::Validation(errors)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn place_claimed(
        &self,
        caller: Option<&AuthUser>,
        bearer: Option<&str>,
        input: &PlaceOrder,
        email: Email,
        address: Address,
        idem: Option<(&str, &str)>,
        render: Render<'_>,
    ) -> Result<Placed> {
        let cart = self
            .cart
            .cart(
                input.cart_id,
                CartCaller {
                    customer_id: caller.map(|c| c.id),
                    bearer,
                },
            )
            .await
            .map_err(|ClientError::Unavailable { detail, .. }| OrderError::CartUnavailable(detail))?
            .ok_or(OrderError::NotFound("cart"))?;
        if cart.items.is_empty() {
            return Err(OrderError::field("cart_id", "the cart is empty"));
        }
        let subtotal = checkout::subtotal(cart.items.iter().map(|i| (i.quantity, i.unit_price)))
            .ok_or_else(|| OrderError::field("cart_id", "the cart's total is too large"))?;
        let now = now_millis();
        let mut order = Order {
            // A guest order's id is its only key: random, not time-ordered.
            id: if caller.is_some() {
                Uuid::now_v7()
            } else {
                Uuid::new_v4()
            },
            number: String::new(),
            customer_id: caller.map(|c| c.id),
            email: email.as_str().to_owned(),
            currency: cart.currency.clone(),
            subtotal,
            shipping_total: 0,
            tax_total: 0,
            total: subtotal,
            items: cart
                .items
                .iter()
                .map(|i| Line {
                    variant_id: i.variant_id,
                    sku: i.sku.clone(),
                    product_name: i.product_name.clone(),
                    variant_title: i.variant_title.clone(),
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
            shipping_address: address,
            payment_provider: input.payment_provider.clone(),
            lifecycle: Lifecycle::placed(now),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        // A number clash is astronomically rare; a fresh one settles it.
        let mut attempt = 0;
        loop {
            attempt += 1;
            order.number = checkout::order_number(random_bits());
            let body = render(&order)?;
            let placed = OrderPlaced {
                order_id: order.id,
                number: order.number.clone(),
                customer_id: order.customer_id,
                email: order.email.clone(),
                lines: order
                    .items
                    .iter()
                    .map(|l| OrderLine {
                        variant_id: l.variant_id,
                        sku: l.sku.clone(),
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                        product_name: l.product_name.clone(),
                    })
                    .collect(),
                total: order.total,
                currency: order.currency.clone(),
                cart_id: Some(cart.id),
                payment_provider: order.payment_provider.clone(),
            };
            let mut tx = self.db.begin_write().await?;
            match store::insert(&mut *tx, &order).await {
                Ok(()) => {}
                Err(e)
                    if attempt < 3
                        && platform::db::is_unique_violation(
                            &e,
                            store::NUMBER_KEY,
                            "orders.number",
                        ) =>
                {
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            self.outbox
                .append(&mut tx, &envelope(order.id, &placed, None)?)
                .await?;
            if let Some((caller, key)) = idem {
                let stored = StoredResponse {
                    status: 201,
                    body: body.clone(),
                };
                idempotency::complete(&mut tx, caller, key, &stored).await?;
            }
            self.outbox.commit(tx).await?;
            // Empty the cart now, so that the customer's next look (or next
            // checkout) sees it without these units; order.placed does it
            // again if this call fails, and the cart counts each order once.
            let units: Vec<OrderedUnits> = order
                .items
                .iter()
                .map(|l| OrderedUnits {
                    variant_id: l.variant_id,
                    quantity: l.quantity,
                })
                .collect();
            let caller = CartCaller {
                customer_id: order.customer_id,
                bearer,
            };
            if let Err(e) = self.cart.checkout(cart.id, caller, order.id, &units).await {
                tracing::warn!(order.id = %order.id, error.message = %e, "emptying the cart failed; order.placed will");
            }
            metrics::counter!("orders_placed_total").increment(1);
            tracing::info!(order.id = %order.id, order.number = %order.number, total = order.total, "order placed");
            return Ok(Placed::Created(Box::new(order), body));
        }
    }

    /// The order, if the caller may see it: the owner or an admin; a guest
    /// order to anyone with its id.
    pub async fn get(&self, order_id: Uuid, caller: Option<&AuthUser>) -> Result<Order> {
        let order = store::find(self.db.pool(), order_id)
            .await?
            .ok_or(OrderError::NotFound("order"))?;
        if may_see(&order, caller) {
            Ok(order)
        } else {
            Err(OrderError::NotFound("order"))
        }
    }

    /// A page of orders, newest first: a customer's own, or for an admin all
    /// of them filtered by status and customer.
    pub async fn list(
        &self,
        caller: &AuthUser,
        status: Option<Status>,
        customer_id: Option<Uuid>,
        page: &PageRequest,
    ) -> Result<Page<Order>> {
        let filter = if caller.is_admin() {
            Filter {
                customer_id,
                status,
            }
        } else {
            Filter {
                customer_id: Some(caller.id),
                status,
            }
        };
        let after = page.after.as_deref().and_then(|raw| {
            let (at, id) = raw.split_once('_')?;
            Some((at.parse().ok()?, Uuid::parse_str(id).ok()?))
        });
        if page.after.is_some() && after.is_none() {
            return Err(OrderError::field(
                "cursor",
                "is not a cursor this API issued",
            ));
        }
        let rows = store::list(self.db.pool(), &filter, after, page.fetch_limit()).await?;
        Ok(Page::from_rows(rows, page, |o| {
            format!("{}_{}", o.created_at, o.id)
        }))
    }

    /// Cancels: the owner until it ships, or an admin. A paid order is
    /// refunded (payments reacts to `order.cancelled`).
    pub async fn cancel(
        &self,
        order_id: Uuid,
        caller: &AuthUser,
        note: Option<String>,
    ) -> Result<Order> {
        let reason = if caller.is_admin() {
            CancelReason::Admin
        } else {
            CancelReason::CustomerRequest
        };
        let note = note.unwrap_or_else(|| {
            if caller.is_admin() {
                "cancelled by an admin".into()
            } else {
                "cancelled by the customer".into()
            }
        });
        self.http_transition(order_id, caller, |order, now| {
            let was_paid = order.lifecycle.cancel(reason, now, note.clone())?;
            Ok(vec![cancelled(order, was_paid)?])
        })
        .await
    }

    /// Hands a paid order to a carrier (admin).
    pub async fn ship(
        &self,
        order_id: Uuid,
        caller: &AuthUser,
        tracking: Tracking,
    ) -> Result<Order> {
        self.http_transition(order_id, caller, |order, now| {
            order.lifecycle.ship(tracking.clone(), now)?;
            let event = OrderShipped {
                order: order_ref(order),
                carrier: tracking.carrier.clone(),
                tracking_number: tracking.tracking_number.clone(),
            };
            Ok(vec![envelope(order.id, &event, None)?])
        })
        .await
    }

    /// Marks a shipped order delivered (admin).
    pub async fn deliver(&self, order_id: Uuid, caller: &AuthUser) -> Result<Order> {
        self.http_transition(order_id, caller, |order, now| {
            order.lifecycle.deliver(now)?;
            let event = OrderDelivered {
                order: order_ref(order),
            };
            Ok(vec![envelope(order.id, &event, None)?])
        })
        .await
    }

    async fn http_transition(
        &self,
        order_id: Uuid,
        caller: &AuthUser,
        decide: impl Fn(&mut Order, i64) -> Result<Vec<Envelope>>,
    ) -> Result<Order> {
        loop {
            let mut tx = self.db.begin_write().await?;
            let mut order = store::find(&mut *tx, order_id)
                .await?
                .filter(|o| may_see(o, Some(caller)))
                .ok_or(OrderError::NotFound("order"))?;
            let now = now_millis();
            let events = decide(&mut order, now)?;
            order.updated_at = now;
            if !store::update_lifecycle(&mut *tx, &order).await? {
                // Someone else changed it meanwhile: decide again on fresh data.
                continue;
            }
            for event in &events {
                self.outbox.append(&mut tx, event).await?;
            }
            self.outbox.commit(tx).await?;
            order.version += 1;
            count(&order, &events);
            return Ok(order);
        }
    }

    /// Applies a saga event to its order once (inbox), in one transaction
    /// with the events the transition publishes. An event the order's status
    /// no longer allows (a late or crossed message) is recorded and skipped.
    async fn react(
        &self,
        event: &Envelope,
        order_id: Uuid,
        decide: impl Fn(&mut Order, i64) -> Result<Vec<Envelope>>,
    ) -> anyhow::Result<()> {
        loop {
            let mut tx = self.db.begin_write().await?;
            if !inbox::claim(&mut tx, SAGA_CONSUMER, event.id).await? {
                tx.commit().await?;
                return Ok(());
            }
            let Some(mut order) = store::find(&mut *tx, order_id).await? else {
                tracing::warn!(order.id = %order_id, event.type = %event.event_type, "event for an unknown order ignored");
                tx.commit().await?;
                return Ok(());
            };
            let now = now_millis();
            let events = match decide(&mut order, now) {
                Ok(events) => events,
                Err(OrderError::Transition(e)) => {
                    tracing::info!(order.id = %order_id, event.type = %event.event_type, reason = %e, "event does not apply to the order any more");
                    tx.commit().await?;
                    return Ok(());
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            };
            order.updated_at = now;
            if !store::update_lifecycle(&mut *tx, &order).await? {
                continue;
            }
            count(&order, &events);
            for e in events {
                self.outbox
                    .append(&mut tx, &e.with_trace(event.trace.clone()))
                    .await?;
            }
            self.outbox.commit(tx).await?;
            return Ok(());
        }
    }

    /// `inventory.reserved`: the order waits for its payment.
    pub async fn on_inventory_reserved(&self, event: &Envelope) -> anyhow::Result<()> {
        let reserved: InventoryReserved = event.payload()?;
        self.react(event, reserved.order_id, |order, now| {
            order.lifecycle.stock_reserved(now)?;
            Ok(vec![awaiting_payment(order)?])
        })
        .await
    }

    /// `inventory.reservation_failed`: cancelled, `out_of_stock`.
    pub async fn on_reservation_failed(&self, event: &Envelope) -> anyhow::Result<()> {
        let failed: InventoryReservationFailed = event.payload()?;
        self.react(event, failed.order_id, |order, now| {
            let note = format!("{} is out of stock", failed.sku);
            let was_paid = order
                .lifecycle
                .cancel(CancelReason::OutOfStock, now, note)?;
            Ok(vec![cancelled(order, was_paid)?])
        })
        .await
    }

    /// `inventory.released` with reason `expired`: the payment did not come
    /// in time; cancelled, `payment_timeout` (refunded if the money came in
    /// after the stock had gone back).
    pub async fn on_inventory_released(&self, event: &Envelope) -> anyhow::Result<()> {
        let released: InventoryReleased = event.payload()?;
        if released.reason != "expired" {
            return Ok(());
        }
        self.react(event, released.order_id, |order, now| {
            let was_paid = order.lifecycle.cancel(
                CancelReason::PaymentTimeout,
                now,
                "not paid in time; the stock went back on sale",
            )?;
            Ok(vec![cancelled(order, was_paid)?])
        })
        .await
    }

    /// `payment.created`: the order's payment exists.
    pub async fn on_payment_created(&self, event: &Envelope) -> anyhow::Result<()> {
        let created: PaymentCreated = event.payload()?;
        self.react(event, created.order_id, |order, _| {
            order.lifecycle.payment_created(created.payment_id)?;
            Ok(Vec::new())
        })
        .await
    }

    /// `payment.succeeded`: paid (the catalog then sells the held units).
    pub async fn on_payment_succeeded(&self, event: &Envelope) -> anyhow::Result<()> {
        let paid: PaymentSucceeded = event.payload()?;
        self.react(event, paid.order_id, |order, now| {
            let mut events = Vec::new();
            // A payment exists only for reserved stock: if its news is
            // still on the way, the reservation happened all the same.
            if order.lifecycle.status == Status::Pending {
                order.lifecycle.stock_reserved(now)?;
                events.push(awaiting_payment(order)?);
            }
            order.lifecycle.paid(paid.payment_id, now)?;
            let event = OrderPaid {
                order_id: order.id,
                payment_id: paid.payment_id,
                number: order.number.clone(),
                customer_id: order.customer_id,
                email: order.email.clone(),
                total: order.total,
                currency: order.currency.clone(),
            };
            events.push(envelope(order.id, &event, None)?);
            Ok(events)
        })
        .await
    }

    /// `payment.failed`: cancelled, `payment_failed` (stock released).
    pub async fn on_payment_failed(&self, event: &Envelope) -> anyhow::Result<()> {
        let failed: PaymentFailed = event.payload()?;
        self.react(event, failed.order_id, |order, now| {
            let note = format!("payment failed: {}", failed.failure_code);
            let was_paid = order
                .lifecycle
                .cancel(CancelReason::PaymentFailed, now, note)?;
            Ok(vec![cancelled(order, was_paid)?])
        })
        .await
    }

    /// `payment.refunded`: `payment_status` becomes `refunded` once all of
    /// it went back.
    pub async fn on_payment_refunded(&self, event: &Envelope) -> anyhow::Result<()> {
        let refunded: PaymentRefunded = event.payload()?;
        self.react(event, refunded.order_id, |order, _| {
            order.lifecycle.refunded(refunded.fully_refunded);
            Ok(Vec::new())
        })
        .await
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
    let trace = trace.or_else(platform::telemetry::current_trace_id);
    Envelope::new(crate::NAME, order_id, event)
        .map(|e| e.with_trace(trace))
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

fn awaiting_payment(order: &Order) -> Result<Envelope> {
    envelope(
        order.id,
        &OrderAwaitingPayment {
            order: order_ref(order),
        },
        None,
    )
}

fn cancelled(order: &Order, was_paid: bool) -> Result<Envelope> {
    let reason = order
        .lifecycle
        .cancel_reason
        .map_or("admin", CancelReason::as_str);
    envelope(
        order.id,
        &OrderCancelled {
            order_id: order.id,
            reason: reason.into(),
            number: order.number.clone(),
            customer_id: order.customer_id,
            email: order.email.clone(),
            was_paid,
        },
        None,
    )
}

fn count(order: &Order, events: &[Envelope]) {
    for event in events {
        if event.event_type == OrderPaid::TYPE {
            metrics::counter!("orders_paid_total").increment(1);
        } else if event.event_type == OrderCancelled::TYPE {
            let reason = order
                .lifecycle
                .cancel_reason
                .map_or("admin", CancelReason::as_str);
            metrics::counter!("orders_cancelled_total", "reason" => reason).increment(1);
        }
    }
}

/// 64 random bits (UUIDv4's generator; the order number needs no more).
fn random_bits() -> u64 {
    let bytes = Uuid::new_v4().into_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[7], bytes[9],
    ])
}
