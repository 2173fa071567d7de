//! Row decoding against real SQLite and PostgreSQL: a stored id that is not
//! one is an error naming its table and column, never a missing id.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use platform::db::{Db, optional_uuid_column, uuid_column};
use testkit::{Backend, on_both_backends};

on_both_backends!(a_stored_id_that_does_not_parse_is_an_error_naming_its_column);

async fn a_stored_id_that_does_not_parse_is_an_error_naming_its_column(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = testkit::plumbing_config(backend, dir.path()).database;
    let db = Db::connect("rows", None, &cfg).await.unwrap();
    db.migrate(&platform::db::migrator(&[(
        1,
        "create thing",
        "create table thing (id text not null, owner text)",
    )]))
    .await
    .unwrap();
    let good = uuid::Uuid::now_v7();
    for (id, owner) in [
        (good.to_string(), None),
        ("not-a-uuid".to_owned(), Some("x")),
    ] {
        sqlx::query("insert into thing (id, owner) values ($1, $2)")
            .bind(id)
            .bind(owner)
            .execute(db.pool())
            .await
            .unwrap();
    }
    let rows = sqlx::query("select id, owner from thing order by id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(uuid_column(&rows[0], "thing.id").unwrap(), good);
    assert_eq!(optional_uuid_column(&rows[0], "thing.owner").unwrap(), None);
    for (result, column) in [
        (uuid_column(&rows[1], "thing.id").map(Some), "thing.id"),
        (optional_uuid_column(&rows[1], "thing.owner"), "thing.owner"),
    ] {
        match result {
            Err(sqlx::Error::ColumnDecode { index, .. }) => assert_eq!(index, column),
            other => panic!("a bad id must not decode: {other:?}"),
        }
    }
    db.close().await;
}
