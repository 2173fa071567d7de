//! SQL of the catalog service, one module per aggregate.

pub mod categories;
pub mod inventory;
pub mod products;

pub use platform::db::Exec;
pub(crate) use platform::db::{Param, Params};

/// Reads a UUID stored as text.
pub(crate) use platform::db::uuid_column as uuid;

/// Refreshes PostgreSQL's planner statistics of the catalog's tables after
/// a bulk load (the seed): until autovacuum gets to them, the planner
/// judges freshly filled tables by stale counts. SQLite is left alone: its
/// plans here do not depend on statistics.
pub async fn analyze(db: &platform::db::Db) -> Result<(), sqlx::Error> {
    if db.backend() == platform::db::Backend::Postgres {
        sqlx::query("analyze category, product, product_category, variant, stock, reservation")
            .execute(db.pool())
            .await?;
    }
    Ok(())
}
