//! SQL of the notifications service: `contact`, `preference`, `delivery`.

use platform::db::{Params, optional_uuid_column as optional_id, uuid_column as id};
use sqlx::{Row as _, any::AnyRow};
use uuid::Uuid;

pub use platform::db::Exec;

use crate::domain::Preferences;

/// A message as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: Uuid,
    /// The event it answers.
    pub event_id: Uuid,
    /// `email` or `sms`.
    pub channel: String,
    /// Template name.
    pub template: String,
    /// The customer, None for guests.
    pub customer_id: Option<Uuid>,
    /// Address or number.
    pub recipient: String,
    /// Subject (email).
    pub subject: String,
    /// Text body (email) or the SMS text.
    pub body_text: String,
    /// HTML body (email).
    pub body_html: Option<String>,
    /// queued | sent | failed.
    pub status: String,
    /// Sends tried.
    pub attempts: i64,
    /// Unix ms of the next try (or the end of the current one's lease).
    pub next_attempt_at: i64,
    /// The provider's message id.
    pub provider_id: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, once sent.
    pub sent_at: Option<i64>,
}

const COLUMNS: &str = "delivery_id, event_id, channel, template, customer_id, recipient, subject, \
    body_text, body_html, status, attempts, next_attempt_at, provider_id, last_error, created_at, sent_at";

fn delivery(row: &AnyRow) -> Result<Delivery, sqlx::Error> {
    Ok(Delivery {
        id: id(row, "delivery_id")?,
        event_id: id(row, "event_id")?,
        channel: row.try_get("channel")?,
        template: row.try_get("template")?,
        customer_id: optional_id(row, "delivery.customer_id")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        body_html: row.try_get("body_html")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        provider_id: row.try_get("provider_id")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

/// Records a queued delivery; false if this event already has one on
/// this channel (a redelivered event).
pub async fn insert(tx: &mut sqlx::AnyConnection, d: &Delivery) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into delivery ({COLUMNS}) values \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         on conflict (event_id, channel) do nothing"
    )))
    .bind(d.id.to_string())
    .bind(d.event_id.to_string())
    .bind(&d.channel)
    .bind(&d.template)
    .bind(d.customer_id.map(|c| c.to_string()))
    .bind(&d.recipient)
    .bind(&d.subject)
    .bind(&d.body_text)
    .bind(&d.body_html)
    .bind(&d.status)
    .bind(d.attempts)
    .bind(d.next_attempt_at)
    .bind(&d.provider_id)
    .bind(&d.last_error)
    .bind(d.created_at)
    .bind(d.sent_at)
    .execute(tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes up to `limit` due deliveries for one attempt each: the attempt
/// is counted and the row leased until `lease_until`, so that another
/// dispatcher (another instance) leaves it alone meanwhile; a crash mid-send
/// makes it due again when the lease ends.
pub async fn claim_due(
    db: &platform::db::Db,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query(
        "select delivery_id from delivery where status = 'queued' and next_attempt_at <= $1 \
         order by next_attempt_at, created_at, delivery_id limit $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut claimed = Vec::new();
    for row in rows {
        let delivery_id: String = row.try_get("delivery_id")?;
        let mut tx = db.begin_write().await?;
        let taken = sqlx::query(
            "update delivery set attempts = attempts + 1, next_attempt_at = $3 \
             where delivery_id = $1 and status = 'queued' and next_attempt_at <= $2",
        )
        .bind(&delivery_id)
        .bind(now)
        .bind(lease_until)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() == 1 {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "select {COLUMNS} from delivery where delivery_id = $1"
            )))
            .bind(&delivery_id)
            .fetch_one(&mut *tx)
            .await?;
            claimed.push(delivery(&row)?);
        }
        tx.commit().await?;
    }
    Ok(claimed)
}

/// Records a successful send.
pub async fn mark_sent<'c>(
    ex: impl Exec<'c>,
    delivery_id: Uuid,
    provider_id: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update delivery set status = 'sent', provider_id = $2, sent_at = $3, last_error = null \
         where delivery_id = $1",
    )
    .bind(delivery_id.to_string())
    .bind(provider_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Records a failed attempt: queued again for `next_attempt_at`, or
/// `failed` for good when `next_attempt_at` is None.
pub async fn mark_failed_attempt<'c>(
    ex: impl Exec<'c>,
    delivery_id: Uuid,
    error: &str,
    next_attempt_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(1000).collect();
    let query = match next_attempt_at {
        Some(at) => sqlx::query(
            "update delivery set status = 'queued', last_error = $2, next_attempt_at = $3 \
             where delivery_id = $1",
        )
        .bind(delivery_id.to_string())
        .bind(error)
        .bind(at),
        None => sqlx::query(
            "update delivery set status = 'failed', last_error = $2 where delivery_id = $1",
        )
        .bind(delivery_id.to_string())
        .bind(error),
    };
    query.execute(ex).await?;
    Ok(())
}

/// Deliveries newest first, after the cursor `(created_at, delivery_id)`;
/// only one customer's when `customer_id` is given.
pub async fn list<'c>(
    ex: impl Exec<'c>,
    filter: &ListFilter,
    after: Option<(i64, Uuid)>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let mut params = Params::default();
    let mut sql = format!("select {COLUMNS} from delivery where 1 = 1");
    if let Some(customer) = filter.customer_id {
        sql += &format!(" and customer_id = {}", params.push(customer));
    }
    if let Some(status) = &filter.status {
        sql += &format!(" and status = {}", params.push(status.clone()));
    }
    if let Some(channel) = &filter.channel {
        sql += &format!(" and channel = {}", params.push(channel.clone()));
    }
    if let Some(template) = &filter.template {
        sql += &format!(" and template = {}", params.push(template.clone()));
    }
    if let Some(recipient) = &filter.recipient {
        sql += &format!(
            " and lower(recipient) = {}",
            params.push(recipient.to_lowercase())
        );
    }
    if let Some((at, delivery_id)) = after {
        let (a, b, c) = (params.push(at), params.push(at), params.push(delivery_id));
        sql += &format!(" and (created_at < {a} or (created_at = {b} and delivery_id < {c}))");
    }
    sql += &format!(
        " order by created_at desc, delivery_id desc limit {}",
        params.push(limit)
    );
    // Only placeholders and constant text were interpolated.
    let rows = params
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(ex)
        .await?;
    rows.iter().map(delivery).collect()
}

/// Which deliveries a list shows.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// queued | sent | failed.
    pub status: Option<String>,
    /// email | sms.
    pub channel: Option<String>,
    /// A template's name.
    pub template: Option<String>,
    /// The address or number sent to (case-insensitive).
    pub recipient: Option<String>,
}

/// Stores a customer's contact details (newest wins).
pub async fn upsert_contact(
    tx: &mut sqlx::AnyConnection,
    user_id: Uuid,
    email: &str,
    name: &str,
    phone: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into contact (user_id, email, name, phone, updated_at) values ($1, $2, $3, $4, $5) \
         on conflict (user_id) do update set email = excluded.email, name = excluded.name, \
         phone = excluded.phone, updated_at = excluded.updated_at",
    )
    .bind(user_id.to_string())
    .bind(email)
    .bind(name)
    .bind(phone)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// A customer's phone, if known.
pub async fn phone<'c>(ex: impl Exec<'c>, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("select phone from contact where user_id = $1")
        .bind(user_id.to_string())
        .fetch_optional(ex)
        .await?;
    Ok(row
        .map(|r| r.try_get::<Option<String>, _>("phone"))
        .transpose()?
        .flatten())
}

/// A customer's choices (the defaults when none were saved).
pub async fn preferences<'c>(ex: impl Exec<'c>, user_id: Uuid) -> Result<Preferences, sqlx::Error> {
    let row = sqlx::query("select email, sms from preference where user_id = $1")
        .bind(user_id.to_string())
        .fetch_optional(ex)
        .await?;
    Ok(match row {
        Some(r) => Preferences {
            email: r.try_get::<i64, _>("email")? != 0,
            sms: r.try_get::<i64, _>("sms")? != 0,
        },
        None => Preferences::default(),
    })
}

/// Saves a customer's choices.
pub async fn set_preferences<'c>(
    ex: impl Exec<'c>,
    user_id: Uuid,
    prefs: Preferences,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into preference (user_id, email, sms, updated_at) values ($1, $2, $3, $4) \
         on conflict (user_id) do update set email = excluded.email, sms = excluded.sms, \
         updated_at = excluded.updated_at",
    )
    .bind(user_id.to_string())
    .bind(i64::from(prefs.email))
    .bind(i64::from(prefs.sms))
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}
