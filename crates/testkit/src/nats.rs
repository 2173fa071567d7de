//! A real `nats-server` with JetStream for tests, one per test, on a free
//! loopback port, that a test can stop and start again.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A running (or stopped) test NATS server.
pub struct NatsServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The `nats-server` binary: `MERCATO_TEST_NATS_SERVER`, else the PATH.
fn binary() -> PathBuf {
    std::env::var_os("MERCATO_TEST_NATS_SERVER")
        .map_or_else(|| PathBuf::from("nats-server"), PathBuf::from)
}

impl NatsServer {
    /// Starts a server with JetStream in a fresh folder.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        // The settings of deploy/nats/nats.conf that matter, on loopback.
        let config = format!(
            "listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: {:?}\n  sync_interval: always\n}}\n",
            dir.path().join("js")
        );
        std::fs::write(dir.path().join("nats.conf"), config).unwrap();
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.resume();
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data, and waits until it listens.
    pub fn resume(&mut self) {
        let child = Command::new(binary())
            .arg("-c")
            .arg(self.dir.path().join("nats.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start nats-server ({e}); run the tests with scripts/test, which installs it")
            });
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
