//! A small pool of dedicated threads for argon2id.
//!
//! Why not `spawn_blocking`: each hash allocates 19 MiB, and glibc keeps
//! freed memory in per-thread arenas. Tokio's blocking pool spreads hashes
//! over many short-lived threads, so the process kept hundreds of MiB after
//! a burst of logins. A fixed pool of one thread per core bounds both the
//! parallelism (more would only queue on the cores) and the retained memory.

use std::sync::{Arc, Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send>;

/// Runs CPU-heavy closures off the async runtime, at most one per core.
pub struct HashWorkers {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for HashWorkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashWorkers")
    }
}

impl HashWorkers {
    /// Starts `threads` workers. They stop when the pool is dropped.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match receiver.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self {
            jobs: Mutex::new(sender),
        })
    }

    /// Runs `work` on a worker and waits for its result without blocking
    /// the runtime. None if the pool is gone.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.lock().ok()?.send(job).ok()?;
        result.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_named_workers() {
        let workers = HashWorkers::new(2).unwrap();
        let name = workers
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("argon2-"));
        let results = futures::future::join_all((0..8).map(|i| workers.run(move || i * 2))).await;
        assert_eq!(results.into_iter().flatten().sum::<i32>(), 56);
    }
}
