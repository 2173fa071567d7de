//! A real SMTP server for tests: `aiosmtpd` from PyPI, driven by
//! `smtp/server.py`, on a free loopback port. It stores each accepted
//! message as JSON and can refuse the first N messages (or all) with a
//! chosen reply code.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// A running test SMTP server; stopped when dropped.
pub struct SmtpServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// How the server treats incoming mail.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// Accept everything.
    Accept,
    /// Refuse the first `n` messages with `code`, then accept.
    RefuseFirst(u32, u16),
    /// Refuse every message with `code`.
    RefuseAll(u16),
}

fn python() -> PathBuf {
    std::env::var_os("MERCATO_TEST_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

impl SmtpServer {
    /// Starts a server and waits until it takes connections.
    pub fn start(behaviour: Behaviour) -> Self {
        Self::spawn(behaviour, None, None)
    }

    /// Starts a server that requires AUTH with `user` and `password`.
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::spawn(Behaviour::Accept, Some((user, password)), None)
    }

    /// Starts a server speaking TLS (`starttls` or `implicit`) with a
    /// certificate for 127.0.0.1 from a throwaway CA; see [`Self::ca_file`].
    pub fn start_tls(mode: &str) -> Self {
        Self::spawn(Behaviour::Accept, None, Some(mode))
    }

    /// The PEM root of a TLS server's certificate, for the client to trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn spawn(behaviour: Behaviour, auth: Option<(&str, &str)>, tls: Option<&str>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("smtp/server.py");
        let (refuse, code) = match behaviour {
            Behaviour::Accept => (0, 451),
            Behaviour::RefuseFirst(n, code) => (i64::from(n), code),
            Behaviour::RefuseAll(code) => (-1, code),
        };
        let mut command = Command::new(python());
        command
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .args(["--refuse-first", &refuse.to_string()])
            .args(["--refuse-code", &code.to_string()]);
        if let Some((user, password)) = auth {
            command.args(["--user", user, "--password", password]);
        }
        if let Some(mode) = tls {
            command
                .args(["--tls", mode])
                .arg("--ca-out")
                .arg(dir.path().join("ca.pem"));
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting the test SMTP server (python3 with aiosmtpd; scripts/test installs it): {e}")
            });
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the test SMTP server did not start (is aiosmtpd installed? scripts/test installs it)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, dir, child }
    }

    /// Every accepted message, in arrival order: `mail_from`, `rcpt_tos`,
    /// `from`, `to`, `subject`, `text`, `html`.
    pub fn messages(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.extension().is_some_and(|x| x == "json")
                            && !p
                                .file_name()
                                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .filter_map(|s| serde_json::from_str(&s).ok())
            .collect()
    }

    /// Waits until `n` messages arrived (or `timeout` passed) and returns them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
