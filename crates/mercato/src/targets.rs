//! `--target`: which services this process runs (after Loki's `-target`).

use std::fmt;

use runtime::{Context, MigratorFor, Module};

use crate::Config;

/// A service the binary can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Accounts, sessions, roles, address books.
    Users,
    /// Categories, products, inventory, reservations.
    Catalog,
    /// Shipping options, tax rates, promotions; every total.
    Pricing,
    /// Guest and customer carts.
    Cart,
    /// Checkout, order status and history.
    Orders,
    /// Payments and refunds.
    Payments,
    /// Email and SMS to customers.
    Notifications,
    /// The storefront's pages (a client of the others' API, no data).
    Web,
}

impl Target {
    /// The services of the API, each with its own database, in start order.
    pub const SERVICES: &[Target] = &[
        Target::Users,
        Target::Catalog,
        Target::Pricing,
        Target::Cart,
        Target::Orders,
        Target::Payments,
        Target::Notifications,
    ];

    /// Everything the binary runs: the API's services and the storefront.
    pub const ALL: &[Target] = &[
        Target::Users,
        Target::Catalog,
        Target::Pricing,
        Target::Cart,
        Target::Orders,
        Target::Payments,
        Target::Notifications,
        Target::Web,
    ];

    /// The target's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Catalog => "catalog",
            Self::Pricing => pricing::NAME,
            Self::Cart => "cart",
            Self::Orders => "orders",
            Self::Payments => "payments",
            Self::Notifications => "notifications",
            Self::Web => web::NAME,
        }
    }

    /// The path prefixes the service owns (the gateway routes by them).
    pub fn route_prefixes(self) -> &'static [&'static str] {
        match self {
            Self::Users => users::module::ROUTES,
            Self::Catalog => catalog::module::ROUTES,
            Self::Pricing => pricing::module::ROUTES,
            Self::Cart => cart::module::ROUTES,
            Self::Orders => orders::module::ROUTES,
            Self::Payments => payments::module::ROUTES,
            Self::Notifications => notifications::module::ROUTES,
            Self::Web => web::ROUTES,
        }
    }

    /// Builds the service's module from its section of `cfg`; the
    /// storefront has none (it is assembled over the others' router).
    pub async fn build(self, cfg: &Config, ctx: &mut Context) -> anyhow::Result<Option<Module>> {
        Ok(Some(match self {
            Self::Users => users::module::build(&cfg.users, ctx).await?,
            Self::Catalog => catalog::module::build(&cfg.catalog, ctx).await?,
            Self::Pricing => pricing::module::build(&cfg.pricing, ctx).await?,
            Self::Cart => cart::module::build(&cfg.cart, ctx).await?,
            Self::Orders => orders::module::build(&cfg.orders, ctx).await?,
            Self::Payments => payments::module::build(&cfg.payments, ctx).await?,
            Self::Notifications => notifications::module::build(&cfg.notifications, ctx).await?,
            Self::Web => return Ok(None),
        }))
    }

    /// The service's migrations and its own database URL, if it has one;
    /// None for the storefront, which has no database.
    pub fn migrations(self, cfg: &Config) -> Option<(Option<&secrecy::SecretString>, MigratorFor)> {
        Some(match self {
            Self::Users => (cfg.users.database_url.as_ref(), users::migrator),
            Self::Catalog => (cfg.catalog.database_url.as_ref(), catalog::migrator),
            Self::Pricing => (cfg.pricing.database_url.as_ref(), pricing::migrator),
            Self::Cart => (cfg.cart.database_url.as_ref(), cart::migrator),
            Self::Orders => (cfg.orders.database_url.as_ref(), orders::migrator),
            Self::Payments => (cfg.payments.database_url.as_ref(), payments::migrator),
            Self::Notifications => (
                cfg.notifications.database_url.as_ref(),
                notifications::migrator,
            ),
            Self::Web => return None,
        })
    }

    /// Parses `all` or a comma-separated list of service names.
    pub fn parse_list(raw: &str) -> anyhow::Result<Vec<Target>> {
        let mut targets = Vec::new();
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "all" {
                return Ok(Self::ALL.to_vec());
            }
            let target = Self::ALL
                .iter()
                .copied()
                .find(|t| t.name() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|t| t.name()).collect();
                    anyhow::anyhow!("unknown target `{name}`; known: all, {}", known.join(", "))
                })?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        anyhow::ensure!(!targets.is_empty(), "--target names no service");
        Ok(targets)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_and_lists_parse() {
        assert_eq!(Target::parse_list("all").unwrap(), Target::ALL);
        assert_eq!(Target::parse_list("users, users").unwrap(), [Target::Users]);
        assert_eq!(
            Target::parse_list("catalog,users").unwrap(),
            [Target::Catalog, Target::Users]
        );
    }

    #[test]
    fn unknown_targets_are_named_in_the_error() {
        let err = Target::parse_list("users,warehouse")
            .unwrap_err()
            .to_string();
        assert!(err.contains("warehouse"), "{err}");
        assert!(Target::parse_list("").is_err());
    }
}
