//! Stock levels and the adjustment ledger.

use super::*;

impl CatalogService {
    /// Stock levels of a SKU and its latest ledger entries.
    pub async fn levels(&self, sku: &str) -> Result<(Levels, Vec<inventory::Adjustment>)> {
        let levels = inventory::levels(self.db.pool(), sku)
            .await?
            .ok_or(CatalogError::NotFound("SKU"))?;
        Ok((levels, inventory::ledger(self.db.pool(), sku, 50).await?))
    }

    /// A page of SKUs with their levels, in SKU order; only those with
    /// fewer than `below` available when given (the low-stock list).
    pub async fn stock_list(
        &self,
        below: Option<i64>,
        page: &platform::http::pagination::PageRequest,
    ) -> Result<platform::http::pagination::Page<inventory::Stocked>> {
        let rows = inventory::list(
            self.db.pool(),
            below,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        Ok(platform::http::pagination::Page::from_rows(
            rows,
            page,
            |s| s.sku.clone(),
        ))
    }

    /// Adjusts on-hand stock, recording who and why.
    pub async fn adjust(&self, sku: &str, delta: i64, reason: &str, actor: &str) -> Result<Levels> {
        if platform::http::schema::is_blank(reason) || reason.chars().count() > 500 {
            return Err(CatalogError::field("reason", "must be 1 to 500 characters"));
        }
        let reason = reason.trim();
        if delta == 0 || delta.abs() > stock::ADJUSTMENT_MAX {
            return Err(CatalogError::field(
                "delta",
                format!(
                    "must be a non-zero number of units, at most {} either way",
                    stock::ADJUSTMENT_MAX
                ),
            ));
        }
        let mut tx = self.db.begin_write().await?;
        let levels = inventory::levels(&mut *tx, sku)
            .await?
            .ok_or(CatalogError::NotFound("SKU"))?;
        stock::check_adjustment(levels.on_hand, levels.reserved, delta)
            .map_err(CatalogError::InsufficientStock)?;
        if !inventory::adjust(&mut tx, sku, delta, reason, actor, now_millis()).await? {
            return Err(CatalogError::InsufficientStock(
                "stock changed meanwhile; try again".into(),
            ));
        }
        let after = inventory::levels(&mut *tx, sku)
            .await?
            .ok_or(CatalogError::NotFound("SKU"))?;
        self.commit_change(tx).await?;
        Ok(after)
    }
}
