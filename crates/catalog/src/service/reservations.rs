//! The catalog's part of the checkout saga: reservations held for an order,
//! released when it is cancelled or they expire, committed when it is paid.

use super::*;

impl CatalogService {
    /// Holds every line of an order, or none. Keyed by the order: asking
    /// again answers as the first time and changes nothing.
    pub async fn reserve(&self, order_id: Uuid, lines: &[(String, i64)]) -> Result<Reservation> {
        let mut tx = self.db.begin_write().await?;
        let outcome = self.reserve_in(&mut tx, order_id, lines).await?;
        self.commit_change(tx).await?;
        Ok(outcome)
    }

    /// [`Self::reserve`] inside the caller's transaction; a refusal undoes
    /// the lines held so far (a savepoint) and leaves the rest of the
    /// transaction (its inbox row, its event) to commit.
    async fn reserve_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        order_id: Uuid,
        lines: &[(String, i64)],
    ) -> Result<Reservation> {
        use sqlx::Connection as _;
        let now = now_millis();
        if !inventory::reservation(&mut *tx, order_id).await?.is_empty() {
            return Ok(Reservation::Reserved);
        }
        // Merge repeated SKUs and lock rows in one order, so two orders
        // cannot deadlock on each other's lines.
        let mut merged: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
        for (sku, quantity) in lines {
            *merged.entry(sku.as_str()).or_default() += quantity;
        }
        let expires_at =
            now + i64::try_from(self.cfg.reservation_ttl_secs * 1000).unwrap_or(i64::MAX);
        let mut savepoint = tx.begin().await?;
        for (sku, quantity) in merged {
            if quantity <= 0 || !inventory::hold(&mut savepoint, sku, quantity, now).await? {
                savepoint.rollback().await?;
                return Ok(Reservation::Refused {
                    sku: sku.to_owned(),
                });
            }
            inventory::insert_reservation(&mut savepoint, order_id, sku, quantity, expires_at, now)
                .await?;
        }
        savepoint.commit().await?;
        Ok(Reservation::Reserved)
    }

    /// Handles `order.placed` once: reserves and announces
    /// `inventory.reserved` or `inventory.reservation_failed`.
    pub async fn on_order_placed(&self, event: &Envelope) -> anyhow::Result<()> {
        let placed: OrderPlaced = event.payload()?;
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, ORDER_CONSUMER, event.id).await? {
            tx.commit().await?;
            return Ok(());
        }
        let lines: Vec<(String, i64)> = placed
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.quantity))
            .collect();
        let outcome = self.reserve_in(&mut tx, placed.order_id, &lines).await?;
        let envelope = match outcome {
            Reservation::Reserved => {
                let ttl = time::Duration::seconds(
                    i64::try_from(self.cfg.reservation_ttl_secs).unwrap_or(1800),
                );
                let event = InventoryReserved {
                    order_id: placed.order_id,
                    expires_at: time::OffsetDateTime::now_utc() + ttl,
                };
                Envelope::new(crate::NAME, placed.order_id, &event)?
            }
            Reservation::Refused { sku } => {
                metrics::counter!("catalog_stockouts_total").increment(1);
                let event = InventoryReservationFailed {
                    order_id: placed.order_id,
                    sku,
                    reason: "out_of_stock".into(),
                };
                Envelope::new(crate::NAME, placed.order_id, &event)?
            }
        };
        self.outbox
            .append(&mut tx, &envelope.with_trace(event.trace.clone()))
            .await?;
        self.commit_change(tx).await?;
        Ok(())
    }

    /// Handles `order.cancelled` once: puts held units back.
    pub async fn on_order_cancelled(&self, event: &Envelope) -> anyhow::Result<()> {
        let cancelled: OrderCancelled = event.payload()?;
        self.settle_once(event, cancelled.order_id, "released", Some("cancelled"))
            .await
    }

    /// Handles `order.paid` once: the held units are sold.
    pub async fn on_order_paid(&self, event: &Envelope) -> anyhow::Result<()> {
        let paid: OrderPaid = event.payload()?;
        self.settle_once(event, paid.order_id, "committed", None)
            .await
    }

    async fn settle_once(
        &self,
        event: &Envelope,
        order_id: Uuid,
        to: &str,
        released: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, ORDER_CONSUMER, event.id).await? {
            tx.commit().await?;
            return Ok(());
        }
        let now = now_millis();
        let mut changed = inventory::settle(&mut tx, order_id, to, now).await?;
        if released.is_some() {
            // A paid order cancelled before shipping: its sold units return.
            changed += inventory::restock(&mut tx, order_id, now).await?;
        }
        if let (Some(reason), true) = (released, changed > 0) {
            let envelope = Envelope::new(
                crate::NAME,
                order_id,
                &InventoryReleased {
                    order_id,
                    reason: reason.into(),
                },
            )?;
            self.outbox
                .append(&mut tx, &envelope.with_trace(event.trace.clone()))
                .await?;
        }
        self.commit_change(tx).await?;
        Ok(())
    }

    /// Releases reservations left unpaid past their time and announces
    /// `inventory.released` (reason `expired`); returns how many orders.
    pub async fn expire_reservations(&self) -> Result<usize> {
        let now = now_millis();
        let mut released = 0;
        for order_id in inventory::expired_orders(self.db.pool(), now, 100).await? {
            let mut tx = self.db.begin_write().await?;
            if inventory::settle(&mut tx, order_id, "released", now).await? > 0 {
                let event = InventoryReleased {
                    order_id,
                    reason: "expired".into(),
                };
                let envelope = Envelope::new(crate::NAME, order_id, &event)
                    .context("encoding inventory.released")?;
                self.outbox.append(&mut tx, &envelope).await?;
                released += 1;
            }
            self.commit_change(tx).await?;
        }
        Ok(released)
    }

    /// How often the reservation-expiry task (see [`crate::module`]) looks for
    /// lapsed reservations.
    pub fn expiry_sweep_interval(&self) -> std::time::Duration {
        let quarter = self.cfg.reservation_ttl_secs.saturating_mul(250);
        std::time::Duration::from_millis(quarter.clamp(250, 15_000))
    }

    /// Puts an order's held units back (cancelled or expired). Idempotent.
    pub async fn release(&self, order_id: Uuid) -> Result<usize> {
        let mut tx = self.db.begin_write().await?;
        let changed = inventory::settle(&mut tx, order_id, "released", now_millis()).await?;
        self.commit_change(tx).await?;
        Ok(changed)
    }

    /// Turns an order's held units into a sale (paid). Idempotent.
    pub async fn commit(&self, order_id: Uuid) -> Result<usize> {
        let mut tx = self.db.begin_write().await?;
        let changed = inventory::settle(&mut tx, order_id, "committed", now_millis()).await?;
        self.commit_change(tx).await?;
        Ok(changed)
    }
}
