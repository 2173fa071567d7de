//! SQL of the catalog service, one module per aggregate.

pub mod categories;
pub mod inventory;
pub mod products;

use sqlx::{Any, any::AnyArguments, query::Query};

pub use platform::db::Exec;

/// A value bound to a dynamically built statement.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

/// Builds `$N` placeholders while collecting their values, for statements
/// whose shape depends on the request (filters, IN lists).
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<Param>);

impl Params {
    /// Adds a value and returns its placeholder.
    pub(crate) fn push(&mut self, param: Param) -> String {
        self.0.push(param);
        format!("${}", self.0.len())
    }

    /// A comma-separated placeholder list for several text values.
    pub(crate) fn list<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> String {
        let placeholders: Vec<String> = values
            .into_iter()
            .map(|v| self.push(Param::Text(v.to_owned())))
            .collect();
        placeholders.join(", ")
    }

    /// Binds every value to the statement.
    pub(crate) fn bind<'q>(
        self,
        mut query: Query<'q, Any, AnyArguments>,
    ) -> Query<'q, Any, AnyArguments> {
        for param in self.0 {
            query = match param {
                Param::Text(v) => query.bind(v),
                Param::Int(v) => query.bind(v),
            };
        }
        query
    }
}

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
