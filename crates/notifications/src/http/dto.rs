//! Request and response bodies of the notifications API.

use platform::time::from_millis;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{domain::Preferences, store::Delivery};

/// `GET /notifications` paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationListQuery {
    /// Only in this status: queued, sent or failed.
    #[param(schema_with = delivery_status)]
    pub status: Option<String>,
    /// Only on this channel: email or sms.
    #[param(schema_with = channel)]
    pub channel: Option<String>,
    /// Only of this template (e.g. `order_shipped`).
    #[param(max_length = 100)]
    pub template: Option<String>,
    /// Only to this address or number (case-insensitive; admins).
    #[param(max_length = 320)]
    pub to: Option<String>,
    /// 1..=100, default 20.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A message sent (or being sent) to a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    /// Its id, as its URLs carry it.
    pub id: Uuid,
    /// email | sms.
    pub channel: String,
    /// Which message, e.g. `order_shipped`.
    pub template: String,
    /// Address or number.
    pub to: String,
    /// queued | sent | failed.
    pub status: String,
    /// Sends tried.
    pub attempts: i64,
    /// Subject (email).
    pub subject: String,
    /// Recorded at.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the channel accepted it; absent until then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

impl From<&Delivery> for NotificationOut {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id,
            channel: d.channel.clone(),
            template: d.template.clone(),
            to: d.recipient.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            subject: d.subject.clone(),
            created_at: from_millis(d.created_at),
            sent_at: d.sent_at.map(from_millis),
        }
    }
}

/// A page of notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    pub items: Vec<NotificationOut>,
    /// For the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A customer's choices (`PUT` replaces both).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// Email (on by default; security mail is sent regardless).
    pub email: bool,
    /// SMS to the profile's phone (off by default).
    pub sms: bool,
}

impl From<Preferences> for PreferencesBody {
    fn from(p: Preferences) -> Self {
        Self {
            email: p.email,
            sms: p.sms,
        }
    }
}

fn delivery_status() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["queued", "sent", "failed"]))
        .build()
}

fn channel() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["email", "sms"]))
        .build()
}
