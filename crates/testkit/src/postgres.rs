//! A PostgreSQL server of a test's own (Debian's `postgresql`), for tests
//! that stop the database under a running shop; every other test shares the
//! server `scripts/test` starts (`MERCATO_TEST_DATABASE_URL`).

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// A test's own PostgreSQL; stopped when dropped.
pub struct PostgresServer {
    port: u16,
    dir: tempfile::TempDir,
    running: bool,
}

/// The server binaries: `MERCATO_TEST_PG_BIN`, else the newest under
/// /usr/lib/postgresql.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MERCATO_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/test installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version with pg_ctl")
}

/// Runs a server tool, as the postgres user when this is root (initdb and
/// postgres refuse to run as root).
fn tool(name: &str, args: &[&str]) {
    let program = bin_dir().join(name);
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let status = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    assert!(status.success(), "{name} {args:?} failed: {status}");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

impl PostgresServer {
    /// A fresh cluster on a free loopback port, started.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres", text(dir.path())])
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let data = dir.path().join("data");
        tool(
            "initdb",
            &["-D", text(&data), "-A", "trust", "-U", "postgres"],
        );
        let mut server = Self {
            port,
            dir,
            running: false,
        };
        server.resume();
        server
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it at once, as a crash would (`pg_ctl stop -m immediate`:
    /// sessions are cut, the next start recovers from the WAL).
    pub fn stop(&mut self) {
        if self.running {
            tool(
                "pg_ctl",
                &[
                    "-D",
                    text(&self.dir.path().join("data")),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
            self.running = false;
        }
    }

    /// Starts it (again) on the same port and data, waiting until it takes
    /// connections.
    pub fn resume(&mut self) {
        let data = self.dir.path().join("data");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            text(self.dir.path())
        );
        tool(
            "pg_ctl",
            &[
                "-D",
                text(&data),
                "-l",
                text(&self.dir.path().join("server.log")),
                "-w",
                "-o",
                &options,
                "start",
            ],
        );
        self.running = true;
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}
