//! The inbox: a consumer records each event id it handled in its own
//! database, in the same transaction as the effect, so a redelivered event
//! is recognised and skipped. Delivery is at least once; effects once.

use sqlx::AnyConnection;
use uuid::Uuid;

/// The table every consuming service's migrations include.
pub const MIGRATION: (i64, &str, &str) = (
    20_261_126_100_100,
    "create processed_event",
    "create table processed_event (
        consumer     text not null,      -- <service>-<subscription>
        event_id     text not null,
        processed_at bigint not null,
        primary key (consumer, event_id)
    );",
);

/// Claims `event_id` for `consumer` inside the caller's transaction. False
/// means it was handled before: commit nothing else and acknowledge.
///
/// `on conflict do nothing` rather than catching a unique violation, which
/// would abort the whole transaction on PostgreSQL.
pub async fn claim(
    tx: &mut AnyConnection,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into processed_event (consumer, event_id, processed_at) values ($1, $2, $3) \
         on conflict (consumer, event_id) do nothing",
    )
    .bind(consumer)
    .bind(event_id.to_string())
    .bind(platform::time::now_millis())
    .execute(tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
