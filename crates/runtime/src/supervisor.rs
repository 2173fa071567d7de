//! Every background task of a process under one owner: a task that ends
//! before the process is stopping (it returned or panicked) is reported,
//! so the process stops with a clear line instead of serving half-alive.

use std::collections::HashMap;

use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;

/// A task that ended while the process was still meant to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDied {
    /// The task's name.
    pub task: String,
    /// `returned` or the panic's message.
    pub reason: String,
}

impl std::fmt::Display for TaskDied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "background task {} stopped: {}", self.task, self.reason)
    }
}

/// The process's background tasks.
#[derive(Debug)]
pub struct Supervisor {
    tasks: JoinSet<()>,
    names: HashMap<Id, String>,
    /// Cancelled when the process starts stopping: a task ending after it
    /// ends as asked.
    stopping: CancellationToken,
}

impl Supervisor {
    /// Tasks ending once `stopping` is cancelled are ending as asked.
    pub fn new(stopping: CancellationToken) -> Self {
        Self {
            tasks: JoinSet::new(),
            names: HashMap::new(),
            stopping,
        }
    }

    /// Starts `task`, named for the report.
    pub fn spawn(
        &mut self,
        name: impl Into<String>,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let handle = self.tasks.spawn(task);
        self.names.insert(handle.id(), name.into());
    }

    /// Resolves when a task ends before the process is stopping; pending
    /// for as long as none does.
    pub async fn died(&mut self) -> TaskDied {
        loop {
            let Some(ended) = self.tasks.join_next_with_id().await else {
                return std::future::pending().await;
            };
            let (id, reason) = match ended {
                Ok((id, ())) => (id, "returned".to_owned()),
                Err(e) => (e.id(), panic_message(e)),
            };
            let task = self.names.remove(&id).unwrap_or_default();
            if !self.stopping.is_cancelled() {
                return TaskDied { task, reason };
            }
        }
    }

    /// Waits for every task to end (after their tokens were cancelled),
    /// logging any that panicked on the way out.
    pub async fn join_all(mut self) {
        while let Some(ended) = self.tasks.join_next_with_id().await {
            if let Err(e) = ended {
                let task = self.names.remove(&e.id()).unwrap_or_default();
                tracing::error!(task = %task, reason = %panic_message(e), "background task failed while stopping");
            }
        }
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    if e.is_cancelled() {
        return "cancelled".to_owned();
    }
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .map_or_else(|| "panicked".to_owned(), |m| format!("panicked: {m}")),
        Err(_) => "failed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_task_that_returns_or_panics_early_is_reported_by_name() {
        let stopping = CancellationToken::new();
        let mut supervisor = Supervisor::new(stopping.clone());
        let forever = stopping.clone();
        supervisor.spawn("svc.waits", async move { forever.cancelled().await });
        supervisor.spawn("svc.returns", async {});
        let died = supervisor.died().await;
        assert_eq!(
            died,
            TaskDied {
                task: "svc.returns".into(),
                reason: "returned".into()
            }
        );

        supervisor.spawn("svc.panics", async { panic!("boom") });
        let died = supervisor.died().await;
        assert_eq!(
            died,
            TaskDied {
                task: "svc.panics".into(),
                reason: "panicked: boom".into()
            }
        );

        stopping.cancel();
        tokio::time::timeout(Duration::from_secs(5), supervisor.join_all())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn tasks_ending_once_the_process_stops_are_not_deaths() {
        let stopping = CancellationToken::new();
        let mut supervisor = Supervisor::new(stopping.clone());
        let token = stopping.clone();
        supervisor.spawn("svc.waits", async move { token.cancelled().await });
        stopping.cancel();
        let outcome = tokio::time::timeout(Duration::from_millis(200), supervisor.died()).await;
        assert!(outcome.is_err(), "no death reported: {outcome:?}");
    }
}
