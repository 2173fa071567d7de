//! What to tell whom, and when to try again. No I/O.

use contracts::events::{
    Event,
    orders::{OrderCancelled, OrderDelivered, OrderPaid, OrderPlaced, OrderShipped},
    payments::{PaymentFailed, PaymentRefunded},
    users::{EmailVerificationRequested, PasswordResetRequested, UserRegistered},
};
use eventbus::Envelope;
use platform::money::display as money;
use serde_json::{Value, json};
use uuid::Uuid;

/// A message kind, with one template folder each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// After registration, with the verification link.
    Welcome,
    /// Another verification link.
    EmailVerification,
    /// The reset link.
    PasswordReset,
    /// Order received.
    OrderPlaced,
    /// Payment received.
    OrderPaid,
    /// Order cancelled, with the reason.
    OrderCancelled,
    /// Handed to a carrier.
    OrderShipped,
    /// Delivered.
    OrderDelivered,
    /// The payment did not go through.
    PaymentFailed,
    /// Money went back.
    PaymentRefunded,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 10] = [
        Self::Welcome,
        Self::EmailVerification,
        Self::PasswordReset,
        Self::OrderPlaced,
        Self::OrderPaid,
        Self::OrderCancelled,
        Self::OrderShipped,
        Self::OrderDelivered,
        Self::PaymentFailed,
        Self::PaymentRefunded,
    ];

    /// Its name: the template folder and the `template` of a delivery.
    pub fn name(self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::EmailVerification => "email_verification",
            Self::PasswordReset => "password_reset",
            Self::OrderPlaced => "order_placed",
            Self::OrderPaid => "order_paid",
            Self::OrderCancelled => "order_cancelled",
            Self::OrderShipped => "order_shipped",
            Self::OrderDelivered => "order_delivered",
            Self::PaymentFailed => "payment_failed",
            Self::PaymentRefunded => "payment_refunded",
        }
    }

    /// Mail the customer asked for or cannot use the account without; it
    /// goes out even when they turned email off.
    pub fn must_send(self) -> bool {
        matches!(
            self,
            Self::Welcome | Self::EmailVerification | Self::PasswordReset
        )
    }
}

/// Something to tell a customer, before choosing channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Which message.
    pub template: Template,
    /// The account, None for a guest.
    pub customer_id: Option<Uuid>,
    /// Where email goes.
    pub email: String,
    /// The template's variables.
    pub context: Value,
}

/// Settings the notices need.
#[derive(Debug, Clone)]
pub struct Links<'a> {
    /// The storefront's base URL, e.g. `https://shop.example.com`.
    pub base_url: &'a str,
    /// The shop's name in greetings and subjects.
    pub shop: &'a str,
}

impl Links<'_> {
    fn order(&self, order_id: Uuid) -> String {
        format!("{}/orders/{order_id}", self.base_url)
    }
}

/// The notice an event calls for, if any (`None`: nothing to say).
pub fn notice_for(event: &Envelope, links: &Links<'_>) -> anyhow::Result<Option<Notice>> {
    let shop = links.shop;
    let notice = match event.event_type.as_str() {
        UserRegistered::TYPE => {
            let e: UserRegistered = event.payload()?;
            Notice {
                template: Template::Welcome,
                customer_id: Some(e.user_id),
                email: e.email,
                context: json!({"shop": shop, "name": e.name,
                    "verify_url": format!("{}/verify-email?token={}", links.base_url, e.verification_token),
                    "expires_at": when(e.verification_expires_at)}),
            }
        }
        EmailVerificationRequested::TYPE => {
            let e: EmailVerificationRequested = event.payload()?;
            Notice {
                template: Template::EmailVerification,
                customer_id: Some(e.user_id),
                email: e.email,
                context: json!({"shop": shop, "name": e.name,
                    "verify_url": format!("{}/verify-email?token={}", links.base_url, e.verification_token),
                    "expires_at": when(e.verification_expires_at)}),
            }
        }
        PasswordResetRequested::TYPE => {
            let e: PasswordResetRequested = event.payload()?;
            Notice {
                template: Template::PasswordReset,
                customer_id: Some(e.user_id),
                email: e.email,
                context: json!({"shop": shop, "name": e.name,
                    "reset_url": format!("{}/reset-password?token={}", links.base_url, e.reset_token),
                    "expires_at": when(e.expires_at)}),
            }
        }
        OrderPlaced::TYPE => {
            let e: OrderPlaced = event.payload()?;
            let items: Vec<Value> = e
                .lines
                .iter()
                .map(|l| {
                    json!({"name": l.product_name, "quantity": l.quantity,
                           "line_total": money(l.quantity.saturating_mul(l.unit_price), &e.currency)})
                })
                .collect();
            let subtotal: i64 = e
                .lines
                .iter()
                .map(|l| l.quantity.saturating_mul(l.unit_price))
                .sum();
            // Only what the order has: no "Discount: 0.00" in every mail.
            let shown = |amount: i64| (amount != 0).then(|| money(amount, &e.currency));
            let codes: Vec<&str> = e
                .promotions
                .iter()
                .filter_map(|p| p.code.as_deref())
                .collect();
            Notice {
                template: Template::OrderPlaced,
                customer_id: e.customer_id,
                email: e.email.clone(),
                context: json!({"shop": shop, "number": e.number, "items": items,
                    "subtotal": money(subtotal, &e.currency),
                    "discount": shown(e.discount_total), "codes": codes.join(", "),
                    "shipping": shown(e.shipping_total), "tax": shown(e.tax_total),
                    "total": money(e.total, &e.currency), "order_url": links.order(e.order_id)}),
            }
        }
        OrderPaid::TYPE => {
            let e: OrderPaid = event.payload()?;
            Notice {
                template: Template::OrderPaid,
                customer_id: e.customer_id,
                email: e.email,
                context: json!({"shop": shop, "number": e.number,
                    "total": money(e.total, &e.currency), "order_url": links.order(e.order_id)}),
            }
        }
        OrderCancelled::TYPE => {
            let e: OrderCancelled = event.payload()?;
            Notice {
                template: Template::OrderCancelled,
                customer_id: e.customer_id,
                email: e.email,
                context: json!({"shop": shop, "number": e.number, "reason": cancel_reason(&e.reason),
                    "refunded": e.was_paid, "order_url": links.order(e.order_id)}),
            }
        }
        OrderShipped::TYPE => {
            let e: OrderShipped = event.payload()?;
            Notice {
                template: Template::OrderShipped,
                customer_id: e.order.customer_id,
                email: e.order.email,
                context: json!({"shop": shop, "number": e.order.number, "carrier": e.carrier,
                    "tracking_number": e.tracking_number, "order_url": links.order(e.order.order_id)}),
            }
        }
        OrderDelivered::TYPE => {
            let e: OrderDelivered = event.payload()?;
            Notice {
                template: Template::OrderDelivered,
                customer_id: e.order.customer_id,
                email: e.order.email,
                context: json!({"shop": shop, "number": e.order.number,
                    "order_url": links.order(e.order.order_id)}),
            }
        }
        PaymentFailed::TYPE => {
            let e: PaymentFailed = event.payload()?;
            Notice {
                template: Template::PaymentFailed,
                customer_id: e.customer_id,
                email: e.email,
                context: json!({"shop": shop, "failure": failure(&e.failure_code),
                    "order_url": links.order(e.order_id)}),
            }
        }
        PaymentRefunded::TYPE => {
            let e: PaymentRefunded = event.payload()?;
            Notice {
                template: Template::PaymentRefunded,
                customer_id: e.customer_id,
                email: e.email,
                context: json!({"shop": shop, "amount": money(e.amount, &e.currency),
                    "refunded_total": money(e.refunded_total, &e.currency),
                    "fully_refunded": e.fully_refunded, "order_url": links.order(e.order_id)}),
            }
        }
        _ => return Ok(None),
    };
    // Events from before the email travelled with them have none to use.
    Ok((!notice.email.is_empty()).then_some(notice))
}

fn when(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_else(|_| at.to_string())
}

/// An order's cancel reason, for people.
pub fn cancel_reason(code: &str) -> String {
    match code {
        "out_of_stock" => "an item ran out of stock".into(),
        "payment_failed" => "the payment did not go through".into(),
        "payment_timeout" => "the payment did not arrive in time".into(),
        "customer_request" => "you asked us to cancel it".into(),
        "admin" => "we had to cancel it".into(),
        other => other.replace('_', " "),
    }
}

/// A payment failure code, for people.
pub fn failure(code: &str) -> String {
    match code {
        "card_declined" => "the card was declined".into(),
        "insufficient_funds" => "the card has insufficient funds".into(),
        other => other.replace('_', " "),
    }
}

/// A customer's choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    /// Email wanted (on by default).
    pub email: bool,
    /// SMS wanted (opt-in).
    pub sms: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            email: true,
            sms: false,
        }
    }
}

/// A way to reach a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Mail, to the account's address.
    Email,
    /// Text message.
    Sms,
}

impl Channel {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// Where the notice goes: email unless turned off (security mails always),
/// SMS when the customer opted in and has a phone.
pub fn recipients(
    notice: &Notice,
    prefs: Preferences,
    phone: Option<&str>,
) -> Vec<(Channel, String)> {
    let mut out = Vec::new();
    if prefs.email || notice.template.must_send() {
        out.push((Channel::Email, notice.email.clone()));
    }
    if prefs.sms
        && let Some(phone) = phone
    {
        out.push((Channel::Sms, phone.to_owned()));
    }
    out
}

/// The wait before attempt `attempts + 1`: exponential from `base_ms`,
/// capped at `max_ms`, with jitter (`unit` in 0..1) taking up to half
/// off, so that retries after an outage do not arrive all at once.
pub fn backoff_ms(attempts: u32, base_ms: u64, max_ms: u64, unit: f64) -> u64 {
    let exponent = attempts.saturating_sub(1).min(30);
    let full = base_ms.saturating_mul(1u64 << exponent).min(max_ms);
    let jitter = (full as f64 * 0.5 * unit.clamp(0.0, 1.0)) as u64;
    full - jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(template: Template) -> Notice {
        Notice {
            template,
            customer_id: None,
            email: "a@example.com".into(),
            context: json!({}),
        }
    }

    #[test]
    fn email_follows_the_preference_except_for_security_mail() {
        let off = Preferences {
            email: false,
            sms: false,
        };
        assert!(recipients(&notice(Template::OrderPaid), off, None).is_empty());
        assert_eq!(
            recipients(&notice(Template::PasswordReset), off, None),
            [(Channel::Email, "a@example.com".to_owned())]
        );
    }

    #[test]
    fn sms_needs_both_the_opt_in_and_a_phone() {
        let sms = Preferences {
            email: true,
            sms: true,
        };
        assert_eq!(recipients(&notice(Template::OrderPaid), sms, None).len(), 1);
        let both = recipients(&notice(Template::OrderPaid), sms, Some("+4915112345678"));
        assert_eq!(both[1], (Channel::Sms, "+4915112345678".to_owned()));
        assert_eq!(
            recipients(
                &notice(Template::OrderPaid),
                Preferences::default(),
                Some("+4915112345678")
            )
            .len(),
            1,
            "SMS is opt-in"
        );
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_jitter_only_shortens_it() {
        assert_eq!(backoff_ms(1, 1000, 60_000, 0.0), 1000);
        assert_eq!(backoff_ms(2, 1000, 60_000, 0.0), 2000);
        assert_eq!(backoff_ms(4, 1000, 60_000, 0.0), 8000);
        assert_eq!(backoff_ms(20, 1000, 60_000, 0.0), 60_000);
        assert_eq!(backoff_ms(2, 1000, 60_000, 1.0), 1000);
        assert!(backoff_ms(3, 1000, 60_000, 0.3) < 4000);
        assert_eq!(backoff_ms(u32::MAX, 1000, 60_000, 0.0), 60_000);
    }

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(cancel_reason("out_of_stock"), "an item ran out of stock");
        assert_eq!(failure("card_declined"), "the card was declined");
        assert_eq!(failure("expired_card"), "expired card");
    }

    #[test]
    fn every_template_has_a_distinct_name() {
        let names: std::collections::HashSet<&str> =
            Template::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), Template::ALL.len());
    }
}
