//! What orders and payments agree on at checkout.

/// The payment providers orders offers at checkout. Offered in-process by
/// the orders module, so that payments, built after it in the same
/// process, refuses to start without one of them enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedPaymentProviders(pub Vec<String>);

/// A payment provider the shop can take money through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// The built-in test provider (test cards, no network).
    Test,
    /// Stripe (PaymentIntents).
    Stripe,
    /// PayPal (Orders v2).
    Paypal,
}

impl Provider {
    /// Every provider, in the order the documentation lists them.
    pub const ALL: [Provider; 3] = [Provider::Test, Provider::Stripe, Provider::Paypal];

    /// Its name in configuration, requests, events and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Stripe => "stripe",
            Self::Paypal => "paypal",
        }
    }

    /// The provider of this name, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// How customers know it.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Stripe => "Stripe",
            Self::Paypal => "PayPal",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_is_found_by_the_name_it_is_stored_under() {
        for provider in Provider::ALL {
            assert_eq!(Provider::parse(provider.as_str()), Some(provider));
        }
        assert_eq!(Provider::parse("Stripe"), None);
        assert_eq!(Provider::Paypal.display_name(), "PayPal");
    }
}
