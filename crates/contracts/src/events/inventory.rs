//! Inventory events of the catalog service.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Event;

/// `inventory.reserved`: every line of the order is held until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReserved {
    /// The order.
    pub order_id: Uuid,
    /// When an unpaid reservation lapses.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Event for InventoryReserved {
    const TYPE: &'static str = "inventory.reserved";
}

/// `inventory.reservation_failed`: nothing is held; the order cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReservationFailed {
    /// The order.
    pub order_id: Uuid,
    /// The first SKU short of stock.
    pub sku: String,
    /// Always `out_of_stock` for now.
    pub reason: String,
}

impl Event for InventoryReservationFailed {
    const TYPE: &'static str = "inventory.reservation_failed";
}

/// `inventory.released`: held units went back on sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReleased {
    /// The order.
    pub order_id: Uuid,
    /// `cancelled` (after order.cancelled) or `expired` (unpaid in time).
    pub reason: String,
}

impl Event for InventoryReleased {
    const TYPE: &'static str = "inventory.released";
}
