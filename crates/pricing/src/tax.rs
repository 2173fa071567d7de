//! Where tax rates come from: a provider behind a trait, so that an
//! external tax service can take the place of the built-in rate table.

use futures::future::BoxFuture;
use platform::db::Db;

use crate::{domain::rules::TaxRate, store};

/// Answers the tax rates of a destination country.
pub trait TaxProvider: Send + Sync + 'static {
    /// The country's rates (its own and its regions').
    fn rates<'a>(&'a self, country: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<TaxRate>>>;
}

/// The rates the shop keeps itself (`/api/v1/tax-rates`).
pub struct RateTable(pub Db);

impl TaxProvider for RateTable {
    fn rates<'a>(&'a self, country: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<TaxRate>>> {
        Box::pin(async move { Ok(store::rates_of(self.0.pool(), country).await?) })
    }
}
