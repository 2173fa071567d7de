//! What orders and payments agree on at checkout.

/// The payment providers orders offers at checkout. Offered in-process by
/// the orders module, so that payments, built after it in the same
/// process, refuses to start without one of them enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedPaymentProviders(pub Vec<String>);
