//! The notifications service: turns events into recorded deliveries, and a
//! dispatcher that sends them with retries.

use std::{sync::Arc, time::Duration};

use contracts::events::{
    Event,
    users::{UserProfileUpdated, UserRegistered},
};
use eventbus::{Envelope, inbox};
use futures::StreamExt as _;
use platform::{
    auth::AuthUser,
    db::Db,
    http::pagination::{Page, PageRequest},
    time::now_millis,
};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::{
    channels::{Outgoing, SendError},
    config::NotificationsConfig,
    domain::{self, Channel, Links, Preferences, backoff_ms, notice_for, recipients},
    error::{NotificationError, Result},
    store::{self, Delivery},
    templates::Templates,
};

const CONSUMER: &str = "notifications-events";
/// How long one send may hold a delivery before another dispatcher may retry it.
const LEASE_MS: i64 = 120_000;
/// Deliveries sent at once by one dispatcher.
const PARALLEL_SENDS: usize = 8;

/// The channels messages go out through.
pub struct Channels {
    /// Sends mail (SMTP or SendGrid).
    pub email: Arc<dyn crate::channels::Channel>,
    /// SMS, if configured.
    pub sms: Option<Arc<dyn crate::channels::Channel>>,
}

/// The notifications service.
pub struct NotificationsService {
    db: Db,
    cfg: NotificationsConfig,
    templates: Templates,
    channels: Channels,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for NotificationsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationsService")
            .finish_non_exhaustive()
    }
}

impl NotificationsService {
    /// The service over a migrated database.
    pub fn new(db: Db, cfg: NotificationsConfig, templates: Templates, channels: Channels) -> Self {
        Self {
            db,
            cfg,
            templates,
            channels,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Notified whenever a delivery is recorded, so the dispatcher sends
    /// it at once.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// How often the dispatcher looks for retries that came due: every
    /// second, or every `retry_base_ms` when that is shorter.
    pub fn dispatch_interval(&self) -> Duration {
        Duration::from_millis(self.cfg.retry_base_ms.clamp(50, 1000))
    }

    /// Handles an event once: keeps contact details, and records one
    /// rendered delivery per channel the customer should hear on.
    pub async fn on_event(&self, event: &Envelope) -> anyhow::Result<()> {
        let links = Links {
            base_url: self.cfg.public_base_url.trim_end_matches('/'),
            shop: &self.cfg.shop_name,
        };
        let notice = notice_for(event, &links)?;
        let now = now_millis();
        let mut tx = self.db.begin_write().await?;
        if !inbox::claim(&mut tx, CONSUMER, event.id).await? {
            tx.commit().await?;
            return Ok(());
        }
        match event.event_type.as_str() {
            UserRegistered::TYPE => {
                let e: UserRegistered = event.payload()?;
                store::upsert_contact(&mut tx, e.user_id, &e.email, &e.name, None, now).await?;
            }
            UserProfileUpdated::TYPE => {
                let e: UserProfileUpdated = event.payload()?;
                store::upsert_contact(
                    &mut tx,
                    e.user_id,
                    &e.email,
                    &e.name,
                    e.phone.as_deref(),
                    now,
                )
                .await?;
            }
            _ => {}
        }
        let mut queued = 0;
        if let Some(notice) = notice {
            let (prefs, phone) = match notice.customer_id {
                Some(customer) => (
                    store::preferences(&mut *tx, customer).await?,
                    store::phone(&mut *tx, customer).await?,
                ),
                None => (Preferences::default(), None),
            };
            let targets = recipients(&notice, prefs, phone.as_deref());
            if !targets.is_empty() {
                let rendered = self.templates.render(notice.template, &notice.context)?;
                for (channel, recipient) in targets {
                    if channel == Channel::Sms && self.channels.sms.is_none() {
                        continue;
                    }
                    let (body_text, body_html) = match channel {
                        Channel::Email => (rendered.text.clone(), Some(rendered.html.clone())),
                        Channel::Sms => (rendered.sms.clone(), None),
                    };
                    let delivery = Delivery {
                        id: Uuid::now_v7(),
                        event_id: event.id,
                        channel: channel.as_str().into(),
                        template: notice.template.name().into(),
                        customer_id: notice.customer_id,
                        recipient,
                        subject: rendered.subject.clone(),
                        body_text,
                        body_html,
                        status: "queued".into(),
                        attempts: 0,
                        next_attempt_at: now,
                        provider_id: None,
                        last_error: None,
                        created_at: now,
                        sent_at: None,
                    };
                    if store::insert(&mut tx, &delivery).await? {
                        queued += 1;
                    }
                }
            }
        }
        tx.commit().await?;
        if queued > 0 {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Sends what is due, until none is; returns how many were attempted.
    pub async fn dispatch_due(&self) -> Result<usize> {
        let mut attempted = 0;
        loop {
            let now = now_millis();
            let due = store::claim_due(&self.db, now, now + LEASE_MS, 64).await?;
            if due.is_empty() {
                return Ok(attempted);
            }
            attempted += due.len();
            // One recipient's messages go out one after another, oldest
            // first, so that "paid" never arrives before "received";
            // different recipients are served in parallel.
            let mut by_recipient: Vec<Vec<Delivery>> = Vec::new();
            for delivery in due {
                match by_recipient
                    .iter_mut()
                    .find(|group| group[0].recipient == delivery.recipient)
                {
                    Some(group) => group.push(delivery),
                    None => by_recipient.push(vec![delivery]),
                }
            }
            futures::stream::iter(by_recipient)
                .for_each_concurrent(PARALLEL_SENDS, |group| async move {
                    for delivery in group {
                        if let Err(e) = self.attempt(&delivery).await {
                            tracing::warn!(delivery.id = %delivery.id, error.message = %e, "recording a send failed");
                        }
                    }
                })
                .await;
        }
    }

    async fn attempt(&self, d: &Delivery) -> Result<()> {
        let (channel, message) = match d.channel.as_str() {
            "sms" => (
                self.channels.sms.clone(),
                Outgoing::Sms {
                    to: d.recipient.clone(),
                    body: d.body_text.clone(),
                },
            ),
            _ => (
                Some(self.channels.email.clone()),
                Outgoing::Email {
                    to: d.recipient.clone(),
                    subject: d.subject.clone(),
                    text: d.body_text.clone(),
                    html: d.body_html.clone(),
                },
            ),
        };
        let result = match &channel {
            Some(channel) => channel.send(d.id, &message).await,
            None => Err(SendError::Permanent("no SMS channel configured".into())),
        };
        let labels = [
            ("channel", d.channel.clone()),
            ("template", d.template.clone()),
        ];
        match result {
            Ok(provider_id) => {
                store::mark_sent(self.db.pool(), d.id, provider_id.as_deref(), now_millis())
                    .await?;
                metrics::counter!("notifications_sent_total", &labels).increment(1);
                tracing::info!(delivery.id = %d.id, template = %d.template, channel = %d.channel, attempts = d.attempts, "notification sent");
            }
            Err(SendError::Transient(error)) if d.attempts < i64::from(self.cfg.max_attempts) => {
                let attempts = u32::try_from(d.attempts).unwrap_or(u32::MAX);
                let wait = backoff_ms(
                    attempts,
                    self.cfg.retry_base_ms,
                    self.cfg.retry_max_ms,
                    jitter_unit(),
                );
                let next = now_millis() + i64::try_from(wait).unwrap_or(i64::MAX / 2);
                store::mark_failed_attempt(self.db.pool(), d.id, &error, Some(next)).await?;
                metrics::counter!("notifications_retried_total", &labels).increment(1);
                tracing::warn!(delivery.id = %d.id, attempts = d.attempts, retry_in_ms = wait, error.message = %error, "notification not sent; will retry");
            }
            Err(e) => {
                store::mark_failed_attempt(self.db.pool(), d.id, &e.to_string(), None).await?;
                metrics::counter!("notifications_failed_total", &labels).increment(1);
                tracing::error!(delivery.id = %d.id, attempts = d.attempts, error.message = %e, "notification failed for good");
            }
        }
        Ok(())
    }

    /// Deliveries, newest first: a customer's own, or all for an admin.
    pub async fn list(
        &self,
        caller: &AuthUser,
        mut filter: store::ListFilter,
        page: &PageRequest,
    ) -> Result<Page<Delivery>> {
        if !caller.is_admin() {
            filter.customer_id = Some(caller.id);
        }
        let after = page.after.as_deref().and_then(|raw| {
            let (at, id) = raw.split_once('_')?;
            Some((at.parse().ok()?, Uuid::parse_str(id).ok()?))
        });
        if page.after.is_some() && after.is_none() {
            return Err(NotificationError::field(
                "cursor",
                "is not a cursor this API issued",
            ));
        }
        let rows = store::list(self.db.pool(), &filter, after, page.fetch_limit()).await?;
        Ok(Page::from_rows(rows, page, |d| {
            format!("{}_{}", d.created_at, d.id)
        }))
    }

    /// The caller's choices.
    pub async fn preferences(&self, caller: &AuthUser) -> Result<Preferences> {
        Ok(store::preferences(self.db.pool(), caller.id).await?)
    }

    /// Saves the caller's choices.
    pub async fn set_preferences(
        &self,
        caller: &AuthUser,
        prefs: Preferences,
    ) -> Result<Preferences> {
        store::set_preferences(self.db.pool(), caller.id, prefs, now_millis()).await?;
        Ok(prefs)
    }
}

/// A number in 0..1 for jitter (UUIDv4's randomness; no need for more).
fn jitter_unit() -> f64 {
    let bytes = Uuid::new_v4().into_bytes();
    f64::from(u16::from_le_bytes([bytes[0], bytes[1]])) / f64::from(u16::MAX)
}

/// The template names, for documentation and tests.
pub fn template_names() -> Vec<&'static str> {
    domain::Template::ALL.iter().map(|t| t.name()).collect()
}
