//! A real OpenTelemetry pipeline for tests: the rotel collector (OTLP/HTTP
//! in, OTLP/HTTP out) in front of Arize Phoenix, which stores the spans and
//! answers queries over REST. Both come from PyPI (`scripts/lib/otel.sh`),
//! listen on free loopback ports and stop when dropped.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::free_port;

fn binary(variable: &str) -> String {
    crate::installed(variable, "rotel and Phoenix")
}

/// A running Phoenix trace store.
pub struct Phoenix {
    /// `http://127.0.0.1:<port>`: the UI, the REST API and OTLP/HTTP.
    pub base: String,
    child: Child,
    _data: tempfile::TempDir,
}

impl Phoenix {
    /// Starts Phoenix with a fresh database and waits until it answers.
    pub async fn start() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let log = std::fs::File::create(data.path().join("phoenix.log")).expect("log file");
        let mut child = Command::new(binary("MERCATO_TEST_PHOENIX"))
            .arg("serve")
            .env("PHOENIX_HOST", "127.0.0.1")
            .env("PHOENIX_PORT", port.to_string())
            // Phoenix binds its gRPC receiver on every interface; a free
            // port keeps it out of the way (the test speaks HTTP only).
            .env("PHOENIX_GRPC_PORT", free_port().to_string())
            .env("PHOENIX_WORKING_DIR", data.path())
            .env("PHOENIX_TELEMETRY_ENABLED", "false")
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start phoenix");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(response) = reqwest::get(format!("{base}/v1/projects")).await
                && response.status().is_success()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("phoenix exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "phoenix never became ready");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Self {
            base,
            child,
            _data: data,
        }
    }

    /// Every span stored in the default project, all pages.
    pub async fn spans(&self) -> Vec<Value> {
        let client = reqwest::Client::new();
        let mut spans = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/v1/projects/default/spans?limit=1000", self.base);
            if let Some(cursor) = &cursor {
                url.push_str("&cursor=");
                url.extend(form_urlencoded::byte_serialize(cursor.as_bytes()));
            }
            let page: Value = client
                .get(url)
                .send()
                .await
                .expect("phoenix answers")
                .json()
                .await
                .expect("phoenix answers JSON");
            spans.extend(page["data"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return spans,
            }
        }
    }
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running rotel collector forwarding what it receives to Phoenix.
pub struct Collector {
    /// `http://127.0.0.1:<port>`: its OTLP/HTTP receiver.
    pub base: String,
    child: Child,
}

impl Collector {
    /// Starts rotel exporting to `phoenix` and waits until it listens.
    pub async fn start(phoenix: &Phoenix) -> Self {
        let port = free_port();
        let mut child = Command::new(binary("MERCATO_TEST_ROTEL"))
            .args([
                "start",
                "--otlp-http-endpoint",
                &format!("127.0.0.1:{port}"),
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{}", free_port()),
                "--exporter",
                "otlp",
                "--otlp-exporter-endpoint",
                &phoenix.base,
                "--otlp-exporter-protocol",
                "http",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rotel");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("rotel exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "rotel never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
