//! A real log pipeline for tests: rsyslog (Debian's, with its Elasticsearch
//! output) running `deploy/rsyslog/mercato.conf` unchanged, shipping into a
//! server of the Elasticsearch API (noida-db from PyPI, which answers as
//! Elasticsearch 8; `scripts/lib/logging.sh` installs both). Each listens or
//! works in its own temporary folder and stops when dropped.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::free_port;

fn binary(variable: &str) -> String {
    crate::installed(variable, "rsyslog and noida-db")
}

/// A running server of the Elasticsearch API.
pub struct Elasticsearch {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    client: reqwest::Client,
    child: Child,
    _data: tempfile::TempDir,
}

impl Elasticsearch {
    /// Starts one on an empty data folder and waits until it answers.
    pub async fn start() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let log = std::fs::File::create(data.path().join("server.log")).expect("log file");
        let mut child = Command::new(binary("MERCATO_TEST_ELASTICSEARCH"))
            .arg("start")
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .args(["--host", "127.0.0.1", "--only", "elasticsearch"])
            .args(["--elasticsearch-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start the Elasticsearch API server");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(&base).send().await
                && response.status().is_success()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the Elasticsearch API server exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the Elasticsearch API server never answered"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            base,
            client,
            child,
            _data: data,
        }
    }

    /// A GET of `path`, as JSON; panics unless it succeeds.
    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("Elasticsearch answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON answer");
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    /// Makes everything indexed so far searchable, then runs `query` (a
    /// search request body) on `index`; panics unless it succeeds.
    pub async fn search(&self, index: &str, query: &Value) -> Value {
        let refreshed = self
            .client
            .post(format!("{}/{index}/_refresh", self.base))
            .send()
            .await
            .expect("Elasticsearch answers");
        assert!(refreshed.status().is_success(), "refresh {index}");
        let response = self
            .client
            .post(format!("{}/{index}/_search", self.base))
            .json(query)
            .send()
            .await
            .expect("Elasticsearch answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON answer");
        assert!(status.is_success(), "search {index}: {status} {body}");
        body
    }
}

impl Drop for Elasticsearch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running rsyslogd with the shipped configuration.
pub struct Rsyslog {
    child: Child,
}

impl Rsyslog {
    /// Starts rsyslogd following `files` (a glob) into `elasticsearch`,
    /// with `conf` (the shipped `deploy/rsyslog/mercato.conf`) as its whole
    /// pipeline and `work` for its state (its place in each file, its disk
    /// queue), so that a second start on the same folder resumes; fails if
    /// rsyslogd rejects the configuration.
    pub fn start(work: &Path, conf: &Path, files: &str, elasticsearch: &str) -> Self {
        let state = Self::state_dir(work);
        std::fs::create_dir_all(&state).expect("state dir");
        let main = work.join("rsyslog.conf");
        std::fs::write(
            &main,
            format!(
                "global(workDirectory=\"{}\")\ninclude(file=\"{}\")\n",
                state.display(),
                conf.display()
            ),
        )
        .expect("write rsyslog.conf");
        let command = |extra: &[&str]| {
            let mut command = Command::new(binary("MERCATO_TEST_RSYSLOGD"));
            command
                .arg("-f")
                .arg(&main)
                .args(extra)
                .env("MERCATO_LOG_FILES", files)
                .env("MERCATO_ELASTICSEARCH_URL", elasticsearch)
                .env("MERCATO_ELASTICSEARCH_USER", "")
                .env("MERCATO_ELASTICSEARCH_PASSWORD", "");
            command
        };
        let check = command(&["-N1"]).output().expect("rsyslogd runs");
        assert!(
            check.status.success(),
            "rsyslogd rejects the configuration: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let pid = work.join("rsyslogd.pid");
        let log = std::fs::File::create(work.join("rsyslogd.log")).expect("log file");
        let child = command(&["-n", "-i", &pid.display().to_string()])
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start rsyslogd");
        Self { child }
    }

    /// Where rsyslogd keeps its place in each file and its queue.
    pub fn state_dir(work: &Path) -> PathBuf {
        work.join("state")
    }

    /// Stops rsyslogd (SIGTERM: it saves its state and queue) and waits.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
