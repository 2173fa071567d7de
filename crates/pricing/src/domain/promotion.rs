//! Promotions: what they take off, and whether one applies to a cart now.

use uuid::Uuid;

use super::totals::Deduction;

/// What a promotion takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `value` basis points of the subtotal.
    Percentage,
    /// `value` minor units of `currency`.
    Fixed,
    /// The shipping option's price.
    FreeShipping,
}

impl Kind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Percentage => "percentage",
            Self::Fixed => "fixed",
            Self::FreeShipping => "free_shipping",
        }
    }

    /// Parses the wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Percentage, Self::Fixed, Self::FreeShipping]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

/// A promotion as the admin defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// Its id.
    pub id: Uuid,
    /// Upper-cased code, or None for an automatic promotion.
    pub code: Option<String>,
    /// Shown to customers.
    pub name: String,
    /// What it takes off.
    pub kind: Kind,
    /// Basis points, minor units or 0, by `kind`.
    pub value: i64,
    /// The only currency it applies in (required for `fixed`).
    pub currency: Option<String>,
    /// The discounted-from subtotal must be at least this.
    pub min_subtotal: Option<i64>,
    /// Unix ms it starts at.
    pub starts_at: Option<i64>,
    /// Unix ms it ends at (exclusive).
    pub ends_at: Option<i64>,
    /// Placed, uncancelled orders it may be on.
    pub usage_limit: Option<i64>,
    /// The same for one customer (guests count by email).
    pub usage_limit_per_customer: Option<i64>,
    /// Switched on.
    pub active: bool,
    /// Unix ms.
    pub created_at: i64,
}

/// Why a promotion does not apply. Each is a stable problem type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No promotion has this code.
    Unknown,
    /// Switched off.
    Inactive,
    /// Before `starts_at`.
    NotStarted,
    /// At or after `ends_at`.
    Expired,
    /// The subtotal is below `min_subtotal`.
    MinimumNotMet,
    /// `usage_limit` is reached.
    UsedUp,
    /// `usage_limit_per_customer` is reached for this customer.
    UsedUpForCustomer,
    /// Defined for another currency.
    CurrencyMismatch,
}

impl Refusal {
    /// The problem type's slug (after `promotions/`).
    pub fn slug(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Inactive => "inactive",
            Self::NotStarted => "not-started",
            Self::Expired => "expired",
            Self::MinimumNotMet => "minimum-not-met",
            Self::UsedUp => "used-up",
            Self::UsedUpForCustomer => "used-up-for-customer",
            Self::CurrencyMismatch => "currency-mismatch",
        }
    }

    /// Every refusal, for the slug's way back.
    pub const ALL: [Self; 8] = [
        Self::Unknown,
        Self::Inactive,
        Self::NotStarted,
        Self::Expired,
        Self::MinimumNotMet,
        Self::UsedUp,
        Self::UsedUpForCustomer,
        Self::CurrencyMismatch,
    ];

    /// The refusal of a slug.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.slug() == slug)
    }

    /// What the customer reads.
    pub fn message(self) -> &'static str {
        match self {
            Self::Unknown => "is not a code of this shop",
            Self::Inactive => "is not active",
            Self::NotStarted => "cannot be used yet",
            Self::Expired => "has expired",
            Self::MinimumNotMet => "needs a larger order",
            Self::UsedUp => "has been used up",
            Self::UsedUpForCustomer => "has already been used as many times as allowed for you",
            Self::CurrencyMismatch => "does not apply in this currency",
        }
    }
}

/// How often a promotion is on placed, uncancelled orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Uses {
    /// By everyone.
    pub total: i64,
    /// By this customer (0 when unknown).
    pub by_customer: i64,
}

impl Promotion {
    /// Whether it applies to a cart in `currency` worth `subtotal` at `now`,
    /// having been used `uses` times.
    pub fn check(
        &self,
        currency: &str,
        subtotal: i64,
        now: i64,
        uses: Uses,
    ) -> Result<(), Refusal> {
        if !self.active {
            return Err(Refusal::Inactive);
        }
        if self.starts_at.is_some_and(|at| now < at) {
            return Err(Refusal::NotStarted);
        }
        if self.ends_at.is_some_and(|at| now >= at) {
            return Err(Refusal::Expired);
        }
        if self.currency.as_deref().is_some_and(|c| c != currency) {
            return Err(Refusal::CurrencyMismatch);
        }
        if self.min_subtotal.is_some_and(|min| subtotal < min) {
            return Err(Refusal::MinimumNotMet);
        }
        if self.usage_limit.is_some_and(|limit| uses.total >= limit) {
            return Err(Refusal::UsedUp);
        }
        if self
            .usage_limit_per_customer
            .is_some_and(|limit| uses.by_customer >= limit)
        {
            return Err(Refusal::UsedUpForCustomer);
        }
        Ok(())
    }

    /// What it takes off.
    pub fn deduction(&self) -> Deduction {
        match self.kind {
            Kind::Percentage => Deduction::Percentage(self.value),
            Kind::Fixed => Deduction::Fixed(self.value),
            Kind::FreeShipping => Deduction::FreeShipping,
        }
    }
}

/// A code as stored and matched: trimmed and upper-cased; None unless it
/// is 1..=50 of `A-Z0-9-_`.
pub fn normalize_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    let valid = (1..=50).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    valid.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn promotion() -> Promotion {
        Promotion {
            id: Uuid::nil(),
            code: Some("SPRING".into()),
            name: "Spring".into(),
            kind: Kind::Percentage,
            value: 1000,
            currency: None,
            min_subtotal: Some(5000),
            starts_at: Some(100),
            ends_at: Some(200),
            usage_limit: Some(10),
            usage_limit_per_customer: Some(1),
            active: true,
            created_at: 0,
        }
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let p = promotion();
        let fresh = Uses::default();
        assert_eq!(p.check("EUR", 5000, 150, fresh), Ok(()));
        assert_eq!(p.check("EUR", 5000, 99, fresh), Err(Refusal::NotStarted));
        assert_eq!(p.check("EUR", 5000, 200, fresh), Err(Refusal::Expired));
        assert_eq!(
            p.check("EUR", 4999, 150, fresh),
            Err(Refusal::MinimumNotMet)
        );
        let used = Uses {
            total: 10,
            by_customer: 0,
        };
        assert_eq!(p.check("EUR", 5000, 150, used), Err(Refusal::UsedUp));
        let mine = Uses {
            total: 3,
            by_customer: 1,
        };
        assert_eq!(
            p.check("EUR", 5000, 150, mine),
            Err(Refusal::UsedUpForCustomer)
        );
        let off = Promotion {
            active: false,
            ..promotion()
        };
        assert_eq!(off.check("EUR", 5000, 150, fresh), Err(Refusal::Inactive));
        let dollars = Promotion {
            currency: Some("USD".into()),
            ..promotion()
        };
        assert_eq!(
            dollars.check("EUR", 5000, 150, fresh),
            Err(Refusal::CurrencyMismatch)
        );
    }

    #[test]
    fn codes_are_upper_cased_and_limited_to_their_alphabet() {
        assert_eq!(normalize_code(" spring-25_x "), Some("SPRING-25_X".into()));
        assert_eq!(normalize_code(""), None);
        assert_eq!(normalize_code("ÉTÉ"), None);
        assert_eq!(normalize_code("A B"), None);
        assert_eq!(normalize_code(&"A".repeat(51)), None);
        assert!(normalize_code(&"A".repeat(50)).is_some());
    }

    #[test]
    fn slugs_round_trip() {
        for r in Refusal::ALL {
            assert_eq!(Refusal::from_slug(r.slug()), Some(r));
        }
    }
}
