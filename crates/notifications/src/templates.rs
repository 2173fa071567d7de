//! Message templates: minijinja files per template folder
//! (`subject.txt`, `body.txt`, `body.html`, `sms.txt`), built into the
//! binary from `templates/`; a file of the same path in the configured
//! `templates_dir` wins, so a shop rewords its mail without a rebuild.
//! `.html` files are HTML-escaped, the others are not.

use std::path::PathBuf;

use minijinja::Environment;
use serde_json::Value;

use crate::domain::Template;

/// The built-in templates, by path.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "welcome/subject.txt",
        include_str!("../templates/welcome/subject.txt"),
    ),
    (
        "welcome/body.txt",
        include_str!("../templates/welcome/body.txt"),
    ),
    (
        "welcome/body.html",
        include_str!("../templates/welcome/body.html"),
    ),
    (
        "welcome/sms.txt",
        include_str!("../templates/welcome/sms.txt"),
    ),
    (
        "email_verification/subject.txt",
        include_str!("../templates/email_verification/subject.txt"),
    ),
    (
        "email_verification/body.txt",
        include_str!("../templates/email_verification/body.txt"),
    ),
    (
        "email_verification/body.html",
        include_str!("../templates/email_verification/body.html"),
    ),
    (
        "email_verification/sms.txt",
        include_str!("../templates/email_verification/sms.txt"),
    ),
    (
        "password_reset/subject.txt",
        include_str!("../templates/password_reset/subject.txt"),
    ),
    (
        "password_reset/body.txt",
        include_str!("../templates/password_reset/body.txt"),
    ),
    (
        "password_reset/body.html",
        include_str!("../templates/password_reset/body.html"),
    ),
    (
        "password_reset/sms.txt",
        include_str!("../templates/password_reset/sms.txt"),
    ),
    (
        "order_placed/subject.txt",
        include_str!("../templates/order_placed/subject.txt"),
    ),
    (
        "order_placed/body.txt",
        include_str!("../templates/order_placed/body.txt"),
    ),
    (
        "order_placed/body.html",
        include_str!("../templates/order_placed/body.html"),
    ),
    (
        "order_placed/sms.txt",
        include_str!("../templates/order_placed/sms.txt"),
    ),
    (
        "order_paid/subject.txt",
        include_str!("../templates/order_paid/subject.txt"),
    ),
    (
        "order_paid/body.txt",
        include_str!("../templates/order_paid/body.txt"),
    ),
    (
        "order_paid/body.html",
        include_str!("../templates/order_paid/body.html"),
    ),
    (
        "order_paid/sms.txt",
        include_str!("../templates/order_paid/sms.txt"),
    ),
    (
        "order_cancelled/subject.txt",
        include_str!("../templates/order_cancelled/subject.txt"),
    ),
    (
        "order_cancelled/body.txt",
        include_str!("../templates/order_cancelled/body.txt"),
    ),
    (
        "order_cancelled/body.html",
        include_str!("../templates/order_cancelled/body.html"),
    ),
    (
        "order_cancelled/sms.txt",
        include_str!("../templates/order_cancelled/sms.txt"),
    ),
    (
        "order_shipped/subject.txt",
        include_str!("../templates/order_shipped/subject.txt"),
    ),
    (
        "order_shipped/body.txt",
        include_str!("../templates/order_shipped/body.txt"),
    ),
    (
        "order_shipped/body.html",
        include_str!("../templates/order_shipped/body.html"),
    ),
    (
        "order_shipped/sms.txt",
        include_str!("../templates/order_shipped/sms.txt"),
    ),
    (
        "order_delivered/subject.txt",
        include_str!("../templates/order_delivered/subject.txt"),
    ),
    (
        "order_delivered/body.txt",
        include_str!("../templates/order_delivered/body.txt"),
    ),
    (
        "order_delivered/body.html",
        include_str!("../templates/order_delivered/body.html"),
    ),
    (
        "order_delivered/sms.txt",
        include_str!("../templates/order_delivered/sms.txt"),
    ),
    (
        "payment_failed/subject.txt",
        include_str!("../templates/payment_failed/subject.txt"),
    ),
    (
        "payment_failed/body.txt",
        include_str!("../templates/payment_failed/body.txt"),
    ),
    (
        "payment_failed/body.html",
        include_str!("../templates/payment_failed/body.html"),
    ),
    (
        "payment_failed/sms.txt",
        include_str!("../templates/payment_failed/sms.txt"),
    ),
    (
        "payment_refunded/subject.txt",
        include_str!("../templates/payment_refunded/subject.txt"),
    ),
    (
        "payment_refunded/body.txt",
        include_str!("../templates/payment_refunded/body.txt"),
    ),
    (
        "payment_refunded/body.html",
        include_str!("../templates/payment_refunded/body.html"),
    ),
    (
        "payment_refunded/sms.txt",
        include_str!("../templates/payment_refunded/sms.txt"),
    ),
];

/// A message rendered for every channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Email subject (one line).
    pub subject: String,
    /// Plain-text email body.
    pub text: String,
    /// HTML email body.
    pub html: String,
    /// SMS text.
    pub sms: String,
}

/// The template set.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    /// The built-in templates, overridden by files under `dir` if given.
    /// Every template is compiled now, so a broken override stops the start.
    pub fn load(dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_loader(move |name| {
            if let Some(dir) = &dir {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("reading {}: {e}", path.display()),
                        )
                    });
                }
            }
            Ok(BUILT_IN
                .iter()
                .find(|(path, _)| *path == name)
                .map(|(_, source)| (*source).to_owned()))
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let templates = Self { env };
        for template in Template::ALL {
            for part in ["subject.txt", "body.txt", "body.html", "sms.txt"] {
                let name = format!("{}/{part}", template.name());
                templates
                    .env
                    .get_template(&name)
                    .map_err(|e| anyhow::anyhow!("template {name}: {e}"))?;
            }
        }
        Ok(templates)
    }

    /// Renders every part of `template` with `context`.
    pub fn render(&self, template: Template, context: &Value) -> anyhow::Result<Rendered> {
        let part = |file: &str| -> anyhow::Result<String> {
            let name = format!("{}/{file}", template.name());
            let source = self.env.get_template(&name)?;
            Ok(source.render(context)?)
        };
        Ok(Rendered {
            subject: part("subject.txt")?.trim().to_owned(),
            text: part("body.txt")?,
            html: part("body.html")?,
            sms: part("sms.txt")?.trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn built_in_templates_render_and_html_is_escaped() {
        let templates = Templates::load(None).unwrap();
        let out = templates
            .render(
                Template::OrderShipped,
                &json!({"shop": "Mercato", "number": "7KQ2F-9XJ4B", "carrier": "<DHL>",
                        "tracking_number": "JD01", "order_url": "https://shop.example/orders/1"}),
            )
            .unwrap();
        assert_eq!(out.subject, "Order 7KQ2F-9XJ4B is on its way");
        assert!(out.text.contains("handed to <DHL>"));
        assert!(out.html.contains("&lt;DHL&gt;"), "{}", out.html);
        assert!(out.sms.contains("JD01"));
    }

    #[test]
    fn the_order_mail_shows_only_the_parts_of_the_price_it_has() {
        let templates = Templates::load(None).unwrap();
        let context = |discount: Option<&str>, shipping: Option<&str>, tax: Option<&str>| {
            json!({"shop": "M", "number": "N-1", "order_url": "u",
                   "items": [{"name": "Tea", "quantity": 2, "line_total": "$39.98"}],
                   "subtotal": "$39.98", "discount": discount, "codes": "TEN",
                   "shipping": shipping, "tax": tax, "total": "$46.57"})
        };
        let priced = templates
            .render(
                Template::OrderPlaced,
                &context(Some("$4.00"), Some("$5.00"), Some("$5.59")),
            )
            .unwrap();
        for line in [
            "Subtotal: $39.98",
            "Discount (TEN): -$4.00",
            "Shipping: $5.00",
            "Tax: $5.59",
            "Total: $46.57",
        ] {
            assert!(priced.text.contains(line), "{line} in {}", priced.text);
        }
        assert!(priced.html.contains("Discount (TEN)"));
        let plain = templates
            .render(Template::OrderPlaced, &context(None, None, None))
            .unwrap();
        for absent in ["Discount", "Shipping", "Tax"] {
            assert!(!plain.text.contains(absent), "{absent} in {}", plain.text);
            assert!(!plain.html.contains(absent), "{absent} in {}", plain.html);
        }
    }

    #[test]
    fn a_missing_variable_is_an_error_not_an_empty_string() {
        let templates = Templates::load(None).unwrap();
        assert!(templates.render(Template::OrderPaid, &json!({})).is_err());
    }

    #[test]
    fn a_file_in_the_folder_overrides_the_built_in_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("order_paid")).unwrap();
        std::fs::write(
            dir.path().join("order_paid/subject.txt"),
            "Paid: {{ number }}",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path().to_path_buf())).unwrap();
        let out = templates
            .render(
                Template::OrderPaid,
                &json!({"shop": "M", "number": "N-1", "total": "USD 1.00", "order_url": "u"}),
            )
            .unwrap();
        assert_eq!(out.subject, "Paid: N-1");
        assert!(
            out.text.contains("USD 1.00"),
            "the other parts stay built in"
        );
    }

    #[test]
    fn a_broken_override_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("welcome")).unwrap();
        std::fs::write(dir.path().join("welcome/body.txt"), "{% if %}").unwrap();
        assert!(Templates::load(Some(dir.path().to_path_buf())).is_err());
    }
}
