//! Reading orders and the transitions people make: cancel, ship, deliver.

use super::{saga::cancelled, *};

impl OrdersService {
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
        mut filter: Filter,
        page: &PageRequest,
    ) -> Result<Page<Order>> {
        if !caller.is_admin() {
            filter.customer_id = Some(caller.id);
        }
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

    /// The admin overview's figures since `from` (Unix milliseconds).
    pub async fn summary(&self, from: i64, stuck_after_secs: i64) -> Result<store::Summary> {
        let stuck_before = now_millis() - stuck_after_secs.saturating_mul(1000);
        Ok(store::summary(self.db.pool(), from, stuck_before).await?)
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
            self.release_if_cancelled(&mut tx, &order, &events).await?;
            for event in &events {
                self.outbox.append(&mut tx, event).await?;
            }
            self.outbox.commit(tx).await?;
            order.version += 1;
            count(&order, &events);
            return Ok(order);
        }
    }
}
