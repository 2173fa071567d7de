//! The one loop behind every janitor, sweeper and dispatcher.

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// When a periodic job first runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRun {
    /// As the process starts (janitors: catch up on what piled up while
    /// it was down).
    AtStart,
    /// One period after the start.
    AfterOnePeriod,
}

/// A schedule: every `period`, earlier when woken.
#[derive(Debug, Clone)]
pub struct Periodic {
    period: Duration,
    first: FirstRun,
    wake: Option<Arc<Notify>>,
}

impl Periodic {
    /// Every `period`, starting now.
    pub fn every(period: Duration) -> Self {
        Self {
            period,
            first: FirstRun::AtStart,
            wake: None,
        }
    }

    /// Changes when the first run is.
    #[must_use]
    pub fn first(mut self, first: FirstRun) -> Self {
        self.first = first;
        self
    }

    /// Also runs as soon as `wake` is notified (new work was written).
    #[must_use]
    pub fn woken_by(mut self, wake: Arc<Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Runs `job` on this schedule until `stop`. A failed run is logged
    /// with the task's name and the next one comes on schedule: the jobs
    /// are sweeps that the next run repeats.
    pub async fn run<J, F>(self, task: String, mut job: J, stop: CancellationToken)
    where
        J: FnMut() -> F,
        F: Future<Output = anyhow::Result<()>>,
    {
        if self.first == FirstRun::AfterOnePeriod && !self.pause(&stop).await {
            return;
        }
        loop {
            if let Err(e) = job().await {
                tracing::warn!(task = %task, error.message = %format!("{e:#}"), "periodic task failed");
            }
            if !self.pause(&stop).await {
                return;
            }
        }
    }

    /// Waits one period (or a wake-up); false once `stop` is cancelled.
    async fn pause(&self, stop: &CancellationToken) -> bool {
        let woken = async {
            match &self.wake {
                Some(wake) => wake.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => false,
            () = tokio::time::sleep(self.period) => true,
            () = woken => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn runs_at_start_then_every_period_until_stopped() {
        let runs = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let counted = runs.clone();
        let task = tokio::spawn(Periodic::every(Duration::from_secs(10)).run(
            "test.count".into(),
            move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { anyhow::bail!("a failed run is logged, not the end") }
            },
            stop.clone(),
        ));
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "at 0, 10 and 20 s");
        stop.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_first_run_waits_one_period_and_a_wake_up_runs_at_once() {
        let runs = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let wake = Arc::new(Notify::new());
        let counted = runs.clone();
        let task = tokio::spawn(
            Periodic::every(Duration::from_secs(10))
                .first(FirstRun::AfterOnePeriod)
                .woken_by(wake.clone())
                .run(
                    "test.count".into(),
                    move || {
                        counted.fetch_add(1, Ordering::SeqCst);
                        async { Ok(()) }
                    },
                    stop.clone(),
                ),
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        stop.cancel();
        task.await.unwrap();
    }
}
