//! Keeps this replica's read cache honest about writes it did not make.

use super::*;

/// Keeps this replica's read cache honest about writes it did not make:
/// on PostgreSQL, every change notice of another replica clears it, and so
/// does a lost listener connection (notices may have been missed meanwhile);
/// on SQLite, where only command-line tools (`mercato seed`, ...) can write
/// beside the server, the file's data version is watched every 100 ms.
pub async fn run_change_listener(
    service: Arc<CatalogService>,
    stop: tokio_util::sync::CancellationToken,
) {
    match service.db.backend() {
        db::Backend::Sqlite => watch_sqlite(&service, &stop).await,
        db::Backend::Postgres => listen_postgres(&service, &stop).await,
    }
}

async fn pause(stop: &tokio_util::sync::CancellationToken, for_: std::time::Duration) -> bool {
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(for_) => true,
    }
}

async fn watch_sqlite(service: &CatalogService, stop: &tokio_util::sync::CancellationToken) {
    let poll = std::time::Duration::from_millis(100);
    loop {
        // One connection of its own: `data_version` moves when any other
        // connection (this process's pool included) commits.
        let Ok(mut conn) = service.db.pool().acquire().await else {
            if !pause(stop, poll).await {
                return;
            }
            continue;
        };
        let mut seen: Option<i64> = None;
        loop {
            let version = sqlx::query_scalar::<_, i64>("pragma data_version")
                .fetch_one(&mut *conn)
                .await;
            match version {
                // The first reading counts as a change too: what was cached
                // before the watch began may predate another process's write.
                Ok(v) if seen != Some(v) => {
                    service.reads.invalidate();
                    seen = Some(v);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error.message = %e, "watching the catalog file failed; retrying");
                    service.reads.invalidate();
                    break;
                }
            }
            if !pause(stop, poll).await {
                return;
            }
        }
    }
}

async fn listen_postgres(service: &CatalogService, stop: &tokio_util::sync::CancellationToken) {
    let retry = std::time::Duration::from_secs(1);
    loop {
        let mut listener = match service.db.listen(CHANGED).await {
            Ok(Some(listener)) => listener,
            // Not PostgreSQL after all: nothing to listen to.
            Ok(None) => return stop.cancelled().await,
            Err(e) => {
                tracing::warn!(error.message = %e, "catalog change listener cannot connect; retrying");
                if !pause(stop, retry).await {
                    return;
                }
                continue;
            }
        };
        // Whatever was cached before this listener heard anything may
        // predate a notice it never got.
        service.reads.invalidate();
        loop {
            let notice = tokio::select! {
                () = stop.cancelled() => return,
                notice = listener.try_recv() => notice,
            };
            service.reads.invalidate();
            match notice {
                Ok(Some(_)) => {}
                // Disconnected: listen again from scratch (the invalidation
                // on connecting covers what was missed meanwhile).
                Ok(None) => {
                    tracing::warn!("catalog change listener lost its connection");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error.message = %e, "catalog change listener failed; retrying");
                    if !pause(stop, retry).await {
                        return;
                    }
                    break;
                }
            }
        }
    }
}
