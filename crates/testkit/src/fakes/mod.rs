//! Stateful fakes of third-party HTTP APIs, for tests: they check what the
//! real service checks (authentication, required fields, formats) and
//! answer with its documented success and error shapes. They are fakes,
//! not the real thing; the real protocol is what they follow.

pub mod paypal;
pub mod sendgrid;
pub mod twilio;

use std::sync::{Arc, Mutex};

/// Failures a fake injects before behaving normally again.
#[derive(Debug, Default, Clone)]
pub(crate) struct Outage {
    remaining: u32,
    status: u16,
}

impl Outage {
    /// Takes one injected failure, if any is left.
    pub(crate) fn take(&mut self) -> Option<u16> {
        (self.remaining > 0).then(|| {
            self.remaining -= 1;
            self.status
        })
    }
}

/// Starts `router` on a free loopback port; returns its base URL.
pub(crate) async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

pub(crate) type Shared<T> = Arc<Mutex<T>>;

/// A random hex id of `n` bytes.
pub(crate) fn hex_id(n: usize) -> String {
    let mut out = String::new();
    while out.len() < n * 2 {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(n * 2);
    out
}
