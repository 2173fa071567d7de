//! SQL of the payments service: `order_due`, `payment` and `refund`, to
//! and from the aggregates in [`crate::domain::payment`].

use platform::db::uuid_column as id;
use sqlx::{Row as _, any::AnyRow};
use uuid::Uuid;

pub use platform::db::Exec;

use contracts::checkout::Provider;

use crate::domain::payment::{Due, Payment, Refund, Status};

/// A stored provider name; one Mercato does not know is corruption.
fn provider(row: &AnyRow, table: &str) -> Result<Provider, sqlx::Error> {
    let name: String = row.try_get("provider")?;
    Provider::parse(&name).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: format!("{table}.provider"),
        source: format!("unknown provider `{name}`").into(),
    })
}

fn customer(row: &AnyRow, table: &str) -> Result<Option<Uuid>, sqlx::Error> {
    platform::db::optional_uuid_column(row, &format!("{table}.customer_id"))
}

/// Records what an order owes; a second time changes nothing.
pub async fn insert_due(
    tx: &mut sqlx::AnyConnection,
    due: &Due,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into order_due (order_id, customer_id, email, amount, currency, provider, cancelled, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (order_id) do nothing",
    )
    .bind(due.order_id.to_string())
    .bind(due.customer_id.map(|c| c.to_string()))
    .bind(&due.email)
    .bind(due.amount)
    .bind(&due.currency)
    .bind(due.provider.as_str())
    .bind(i64::from(due.cancelled))
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// What the order owes, if order.placed arrived.
pub async fn find_due<'c>(ex: impl Exec<'c>, order_id: Uuid) -> Result<Option<Due>, sqlx::Error> {
    let row = sqlx::query(
        "select order_id, customer_id, email, amount, currency, provider, cancelled \
         from order_due where order_id = $1",
    )
    .bind(order_id.to_string())
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(Due {
            order_id: id(&r, "order_id")?,
            customer_id: customer(&r, "order_due")?,
            email: r.try_get("email")?,
            amount: r.try_get("amount")?,
            currency: r.try_get("currency")?,
            provider: provider(&r, "order_due")?,
            cancelled: r.try_get::<i64, _>("cancelled")? != 0,
        })
    })
    .transpose()
}

/// Notes that the order was cancelled (no payment may be opened for it).
pub async fn cancel_due(tx: &mut sqlx::AnyConnection, order_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update order_due set cancelled = 1 where order_id = $1")
        .bind(order_id.to_string())
        .execute(tx)
        .await?;
    Ok(())
}

const PAYMENT_COLUMNS: &str = "payment_id, order_id, customer_id, email, provider, provider_ref, \
    status, amount, currency, refunded_amount, failure_code, client_secret, approval_url, created_at, updated_at";

fn payment(row: &AnyRow) -> Result<Payment, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(Payment {
        id: id(row, "payment_id")?,
        order_id: id(row, "order_id")?,
        customer_id: customer(row, "payment")?,
        email: row.try_get("email")?,
        provider: provider(row, "payment")?,
        provider_ref: row.try_get("provider_ref")?,
        status: Status::parse(&status).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "payment.status".into(),
            source: format!("unknown status `{status}`").into(),
        })?,
        amount: row.try_get("amount")?,
        currency: row.try_get("currency")?,
        refunded_amount: row.try_get("refunded_amount")?,
        failure_code: row.try_get("failure_code")?,
        client_secret: row.try_get("client_secret")?,
        approval_url: row.try_get("approval_url")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Name of the one-payment-per-order index.
pub const ORDER_KEY: &str = "payment_order_key";

/// Inserts a payment.
pub async fn insert_payment(tx: &mut sqlx::AnyConnection, p: &Payment) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into payment ({PAYMENT_COLUMNS}, version) values \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0)"
    )))
    .bind(p.id.to_string())
    .bind(p.order_id.to_string())
    .bind(p.customer_id.map(|c| c.to_string()))
    .bind(&p.email)
    .bind(p.provider.as_str())
    .bind(&p.provider_ref)
    .bind(p.status.as_str())
    .bind(p.amount)
    .bind(&p.currency)
    .bind(p.refunded_amount)
    .bind(&p.failure_code)
    .bind(&p.client_secret)
    .bind(&p.approval_url)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(tx)
    .await?;
    Ok(())
}

/// The payment with this id.
pub async fn find<'c>(ex: impl Exec<'c>, payment_id: Uuid) -> Result<Option<Payment>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {PAYMENT_COLUMNS} from payment where payment_id = $1"
    )))
    .bind(payment_id.to_string())
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(payment).transpose()
}

/// The order's payment.
pub async fn find_by_order<'c>(
    ex: impl Exec<'c>,
    order_id: Uuid,
) -> Result<Option<Payment>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {PAYMENT_COLUMNS} from payment where order_id = $1"
    )))
    .bind(order_id.to_string())
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(payment).transpose()
}

/// Settles a pending payment; false if it is no longer pending (someone
/// else settled it first).
pub async fn settle(
    tx: &mut sqlx::AnyConnection,
    payment_id: Uuid,
    status: Status,
    failure_code: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update payment set status = $2, failure_code = $3, updated_at = $4, version = version + 1 \
         where payment_id = $1 and status = 'pending'",
    )
    .bind(payment_id.to_string())
    .bind(status.as_str())
    .bind(failure_code)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Earmarks `amount` for a refund if that much remains; false otherwise.
/// The condition in the update is what stops two refunds at once from
/// returning more than was taken.
pub async fn earmark_refund(
    tx: &mut sqlx::AnyConnection,
    payment_id: Uuid,
    amount: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update payment set refunded_amount = refunded_amount + $2, updated_at = $3, version = version + 1 \
         where payment_id = $1 and status in ('succeeded', 'partially_refunded') \
         and refunded_amount + $2 <= amount",
    )
    .bind(payment_id.to_string())
    .bind(amount)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back an earmark whose refund the provider refused.
pub async fn unearmark_refund(
    tx: &mut sqlx::AnyConnection,
    payment_id: Uuid,
    amount: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update payment set refunded_amount = refunded_amount - $2, updated_at = $3, version = version + 1 \
         where payment_id = $1",
    )
    .bind(payment_id.to_string())
    .bind(amount)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// Sets the status a refund left the payment in.
pub async fn set_status(
    tx: &mut sqlx::AnyConnection,
    payment_id: Uuid,
    status: Status,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update payment set status = $2, updated_at = $3, version = version + 1 where payment_id = $1")
        .bind(payment_id.to_string())
        .bind(status.as_str())
        .bind(now)
        .execute(tx)
        .await?;
    Ok(())
}

/// Inserts a refund.
pub async fn insert_refund(tx: &mut sqlx::AnyConnection, r: &Refund) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into refund (refund_id, payment_id, amount, status, provider_ref, reason, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.id.to_string())
    .bind(r.payment_id.to_string())
    .bind(r.amount)
    .bind(&r.status)
    .bind(&r.provider_ref)
    .bind(&r.reason)
    .bind(r.created_at)
    .execute(tx)
    .await?;
    Ok(())
}

/// Records how a refund ended.
pub async fn finish_refund(
    tx: &mut sqlx::AnyConnection,
    refund_id: Uuid,
    status: &str,
    provider_ref: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update refund set status = $2, provider_ref = $3 where refund_id = $1")
        .bind(refund_id.to_string())
        .bind(status)
        .bind(provider_ref)
        .execute(tx)
        .await?;
    Ok(())
}

impl Payment {
    /// Whether the provider has opened it (a reference exists).
    pub fn is_opened(&self) -> bool {
        !self.provider_ref.is_empty()
    }
}

/// The payment a provider knows as `reference`.
pub async fn find_by_reference<'c>(
    ex: impl Exec<'c>,
    provider: &str,
    reference: &str,
) -> Result<Option<Payment>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {PAYMENT_COLUMNS} from payment where provider = $1 and provider_ref = $2"
    )))
    .bind(provider)
    .bind(reference)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(payment).transpose()
}

/// Pending payments a provider outage left unopened, oldest first.
pub async fn unopened<'c>(ex: impl Exec<'c>, limit: i64) -> Result<Vec<Payment>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {PAYMENT_COLUMNS} from payment where status = 'pending' and provider_ref = '' \
         order by created_at limit $1"
    )))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter().map(payment).collect()
}

/// Records what the provider answered to opening a payment, if it is
/// still pending and unopened; false otherwise.
pub async fn set_opened(
    tx: &mut sqlx::AnyConnection,
    payment_id: Uuid,
    opened: &crate::providers::OpenedPayment,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update payment set provider_ref = $2, client_secret = $3, approval_url = $4, \
         updated_at = $5, version = version + 1 \
         where payment_id = $1 and status = 'pending' and provider_ref = ''",
    )
    .bind(payment_id.to_string())
    .bind(&opened.reference)
    .bind(&opened.client_secret)
    .bind(&opened.approval_url)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether a provider's webhook event was handled already.
pub async fn webhook_seen<'c>(
    ex: impl Exec<'c>,
    provider: &str,
    event_id: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("select 1 from webhook_receipt where provider = $1 and event_id = $2")
            .bind(provider)
            .bind(event_id)
            .fetch_optional(ex)
            .await?
            .is_some(),
    )
}

/// Records a webhook event in the transaction of its effect; false if it
/// was recorded before (a duplicate delivery: do nothing).
pub async fn claim_webhook(
    tx: &mut sqlx::AnyConnection,
    provider: &str,
    event_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into webhook_receipt (provider, event_id, received_at) values ($1, $2, $3) \
         on conflict (provider, event_id) do nothing",
    )
    .bind(provider)
    .bind(event_id)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
