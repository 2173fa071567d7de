//! A stack of `mercato serve --target X` processes on loopback, one per
//! service, on PostgreSQL (a schema each), NATS and etcd, each writing its
//! log lines to `<data>/<target>.log`.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use testkit::Target;

use super::{free_port, mercato_command, wait_ready};

/// The processes of one stack: a service per process.
pub struct Stack {
    pub children: Vec<(Target, Child, String)>,
}

pub struct Env<'a> {
    pub data: &'a Path,
    pub prefix: &'a str,
    pub nats: String,
    pub etcd: String,
    pub gateway: String,
    /// More settings for every process, such as `MERCATO__TELEMETRY__OTLP_ENDPOINT`.
    pub extra: Vec<(String, String)>,
}

pub fn start(target: Target, env: &Env<'_>) -> (Child, String) {
    let port = free_port();
    let mut cmd = mercato_command();
    let log = std::fs::File::create(env.data.join(format!("{target}.log"))).unwrap();
    cmd.env("MERCATO__DATABASE__URL", testkit::postgres_url())
        .env("MERCATO__DATABASE__SCHEMA_PREFIX", env.prefix)
        .env("MERCATO__DATABASE__DATA_DIR", env.data)
        .env("MERCATO__EVENTBUS__NATS_URL", &env.nats)
        .env("MERCATO__EVENTBUS__REDELIVERY_BACKOFF_MS", "50,100,200")
        .env("MERCATO__EVENTBUS__RELAY_MAX_BACKOFF_MS", "500")
        .env("MERCATO__DISCOVERY__ETCD_URL", &env.etcd)
        .env("MERCATO__DISCOVERY__LEASE_TTL_SECS", "3")
        .env(
            "MERCATO__AUTH__JWKS_URL",
            format!("{}/.well-known/jwks.json", env.gateway),
        )
        .env("MERCATO__USERS__ARGON2_MEMORY_KIB", "256")
        .env("MERCATO__USERS__ARGON2_ITERATIONS", "1")
        .env("MERCATO__USERS__ADMIN_EMAIL", testkit::ADMIN_EMAIL)
        .env("MERCATO__USERS__ADMIN_PASSWORD", testkit::ADMIN_PASSWORD)
        .env("MERCATO__CATALOG__DEMO_PRODUCTS", "0")
        .env("MERCATO__TELEMETRY__FORMAT", "json")
        .env("MERCATO__TELEMETRY__FILTER", "warn")
        .envs(env.extra.iter().map(|(k, v)| (k, v)));
    let child = cmd
        .args([
            "serve",
            "--target",
            target.name(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

impl Stack {
    pub async fn start(env: &Env<'_>) -> Self {
        let mut children = Vec::new();
        for &target in Target::SERVICES {
            let (child, base) = start(target, env);
            children.push((target, child, base));
        }
        for (_, _, base) in &children {
            wait_ready(base).await;
        }
        Self { children }
    }

    /// SIGTERM to every process; each drains, leaves etcd and exits.
    pub fn stop(self) {
        for (target, child, _) in self.children {
            terminate(target, child);
        }
    }

    /// Stops one service's process the same way; the others run on.
    pub fn stop_one(&mut self, target: Target) {
        let at = self
            .children
            .iter()
            .position(|(t, _, _)| *t == target)
            .unwrap_or_else(|| panic!("{target} is not running"));
        let (target, child, _) = self.children.remove(at);
        terminate(target, child);
    }
}

fn terminate(target: Target, mut child: Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{target} did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
