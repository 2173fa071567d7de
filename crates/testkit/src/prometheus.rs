//! Real Prometheus and Alertmanager servers for tests (Debian's
//! `prometheus` and `prometheus-alertmanager`), each on a free loopback
//! port with its own data folder, stopped when dropped.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::free_port;

fn binary(variable: &str) -> String {
    crate::installed(variable, "Prometheus and Alertmanager")
}

/// Waits until `url` answers 200.
async fn wait_ready(url: &str, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start: {status}");
        }
        assert!(Instant::now() < deadline, "{what} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A running Prometheus.
pub struct Prometheus {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    child: Child,
    _data: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus with the configuration `config` (YAML text) and
    /// waits until it is ready.
    pub async fn start(config: &str) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let file = data.path().join("prometheus.yml");
        std::fs::write(&file, config).expect("write prometheus.yml");
        let port = free_port();
        let mut child = Command::new(binary("MERCATO_TEST_PROMETHEUS"))
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                data.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(&format!("{base}/-/ready"), "prometheus", &mut child).await;
        Self {
            base,
            child,
            _data: data,
        }
    }

    /// An instant query's `data.result` (panics on a query error).
    pub async fn query(&self, query: &str) -> Vec<Value> {
        let body: Value = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/query?{}",
                self.base,
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("query", query)
                    .finish()
            ))
            .send()
            .await
            .expect("query prometheus")
            .json()
            .await
            .expect("prometheus answers JSON");
        assert_eq!(body["status"], "success", "{query}: {body}");
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `query` returns at least one series.
    pub async fn wait_for(&self, query: &str, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let result = self.query(query).await;
            if !result.is_empty() {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "{query} returned nothing within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running Alertmanager.
pub struct Alertmanager {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `127.0.0.1:<port>`, for Prometheus's `alertmanagers` targets.
    pub address: String,
    child: Child,
    _data: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager with the configuration `config` (YAML text),
    /// clustering off, and waits until it is ready.
    pub async fn start(config: &str) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let file: &Path = &data.path().join("alertmanager.yml");
        std::fs::write(file, config).expect("write alertmanager.yml");
        let port = free_port();
        let mut child = Command::new(binary("MERCATO_TEST_ALERTMANAGER"))
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.path={}",
                data.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // One instance: no gossip port on every interface.
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start alertmanager");
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(&format!("{base}/-/ready"), "alertmanager", &mut child).await;
        Self {
            base,
            address: format!("127.0.0.1:{port}"),
            child,
            _data: data,
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
