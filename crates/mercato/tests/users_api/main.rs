//! Black-box tests of the users service over real HTTP, each on SQLite and
//! on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes,
    reason = "a failed step fails the test loudly, in helpers too; child processes are reaped by their guards"
)]

mod addresses;
mod admin;
mod concurrency;
mod events;
mod http_basics;
mod login;
mod profile;
mod registration;
mod reset_and_verify;
mod sessions;
mod tokens;

use serde_json::Value;
use testkit::TestApp;

/// The newest outbox event of this type for this user, as its envelope.
pub async fn outbox_event(app: &TestApp, event_type: &str, user_id: &str) -> Option<Value> {
    use sqlx::Row as _;
    let db = app.database("users").await;
    let rows = sqlx::query("select envelope from outbox where event_type = $1 and aggregate_id = $2 order by event_id desc")
        .bind(event_type)
        .bind(user_id)
        .fetch_all(db.pool())
        .await
        .unwrap();
    db.close().await;
    rows.first()
        .map(|r| serde_json::from_str(&r.get::<String, _>("envelope")).unwrap())
}
