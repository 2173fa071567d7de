//! The `outbox` table: events written with the state change they announce.

use super::Exec;

/// Appends an event to the outbox (inside the caller's transaction).
pub async fn append<'c>(
    ex: impl Exec<'c>,
    event_id: &str,
    event_type: &str,
    aggregate_id: &str,
    envelope_json: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into outbox (event_id, event_type, aggregate_id, payload, created_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(event_id)
    .bind(event_type)
    .bind(aggregate_id)
    .bind(envelope_json)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}
