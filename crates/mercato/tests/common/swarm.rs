//! The Swarm stack (`deploy/swarm/stack.yml`) on this machine's engine:
//! a registry of the test's own (Debian's docker-registry on loopback)
//! holding the locally built images, a single-node swarm on loopback, the
//! stack's secrets, and the stack, all taken down on drop (the swarm is
//! left only if the test made it).

use std::{
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use super::free_port;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `docker ARGS`; a failure fails the test with its output.
pub fn docker(args: &[&str]) -> Output {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "docker {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The stack's services, without the stack's prefix.
pub const SERVICES: &[&str] = &[
    "postgres",
    "nats",
    "etcd",
    "traefik",
    "users",
    "catalog",
    "cart",
    "orders",
    "payments",
    "notifications",
];

pub struct SwarmStack {
    /// The stack's name; its services are `<name>_<service>`.
    pub name: String,
    /// The gateway, `http://127.0.0.1:<host port>`.
    pub gateway: String,
    pub registry: String,
    registry_process: Child,
    _registry_data: tempfile::TempDir,
    made_swarm: bool,
    env: Vec<(String, String)>,
}

impl SwarmStack {
    /// Pushes `mercato-<service>:<tag>` and the local third-party images
    /// to a fresh registry, joins or makes a swarm, creates the secrets and
    /// deploys the stack; returns once every service runs its replicas.
    pub async fn deploy(tag: &str) -> Self {
        let registry_port = free_port();
        let data = tempfile::tempdir().unwrap();
        let config = data.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nstorage:\n  filesystem: {{rootdirectory: {}}}\nhttp:\n  addr: 127.0.0.1:{registry_port}\n",
                data.path().join("blobs").display()
            ),
        )
        .unwrap();
        let registry_process = Command::new(testkit::installed(
            "MERCATO_TEST_REGISTRY",
            "Debian's docker-registry",
        ))
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let registry = format!("127.0.0.1:{registry_port}");
        let started = Instant::now();
        while reqwest::get(format!("http://{registry}/v2/"))
            .await
            .is_err()
        {
            assert!(started.elapsed() < Duration::from_secs(20), "registry");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut images: Vec<(String, String)> = [
            "users",
            "catalog",
            "cart",
            "orders",
            "payments",
            "notifications",
        ]
        .iter()
        .map(|s| {
            (
                format!("mercato-{s}:{tag}"),
                format!("{registry}/mercato-{s}:{tag}"),
            )
        })
        .collect();
        for third in ["postgres", "nats", "etcd", "traefik"] {
            images.push((
                format!("mercato-local/{third}:local"),
                format!("{registry}/mercato-local/{third}:local"),
            ));
        }
        for (local, pushed) in &images {
            docker(&["tag", local, pushed]);
            docker(&["push", "-q", pushed]);
        }

        let name = format!("mt{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let port = free_port();
        let env: Vec<(String, String)> = [
            ("MERCATO_REGISTRY", registry.clone()),
            ("MERCATO_TAG", tag.to_owned()),
            (
                "MERCATO_POSTGRES_IMAGE",
                format!("{registry}/mercato-local/postgres:local"),
            ),
            (
                "MERCATO_NATS_IMAGE",
                format!("{registry}/mercato-local/nats:local"),
            ),
            (
                "MERCATO_ETCD_IMAGE",
                format!("{registry}/mercato-local/etcd:local"),
            ),
            (
                "MERCATO_TRAEFIK_IMAGE",
                format!("{registry}/mercato-local/traefik:local"),
            ),
            ("MERCATO_HTTP_PORT", port.to_string()),
            // A subnet of its own, apart from other stacks on the engine.
            (
                "MERCATO_EDGE_SUBNET",
                format!("10.23{}.{}.0/24", fastish(&name) % 10, fastish(&name) % 250),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let state = text(&docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]));
        let made_swarm = state != "active";
        // From here on, dropping the value takes down what was made.
        let stack = Self {
            name,
            gateway: format!("http://127.0.0.1:{port}"),
            registry,
            registry_process,
            _registry_data: data,
            made_swarm,
            env,
        };
        if made_swarm {
            docker(&[
                "swarm",
                "init",
                "--advertise-addr",
                "127.0.0.1",
                "--listen-addr",
                "127.0.0.1:2377",
            ]);
        }
        let node = text(&docker(&["info", "--format", "{{.Swarm.NodeID}}"]));
        docker(&[
            "node",
            "update",
            "--label-add",
            "mercato.data=true",
            "--label-add",
            "mercato.gateway=true",
            &node,
        ]);
        let secrets = Command::new(repo().join("deploy/swarm/create-secrets.sh"))
            .arg(testkit::ADMIN_EMAIL)
            .env("MERCATO_ADMIN_PASSWORD", testkit::ADMIN_PASSWORD)
            .output()
            .unwrap();
        assert!(
            secrets.status.success(),
            "create-secrets.sh: {}",
            String::from_utf8_lossy(&secrets.stderr)
        );
        stack.stack_deploy();
        stack.wait_converged(Duration::from_secs(240)).await;
        stack
    }

    /// `docker stack deploy` of the shipped file with the test's settings.
    pub fn stack_deploy(&self) {
        let output = Command::new("docker")
            .args(["stack", "deploy", "--resolve-image", "always", "-c"])
            .arg(repo().join("deploy/swarm/stack.yml"))
            .arg(&self.name)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "stack deploy: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `<stack>_<service>`.
    pub fn service(&self, service: &str) -> String {
        format!("{}_{service}", self.name)
    }

    /// Running and wanted tasks of a service ("2/2" as numbers).
    pub fn replicas(&self, service: &str) -> (u32, u32) {
        let shown = text(&docker(&[
            "service",
            "ls",
            "--filter",
            &format!("name={}", self.service(service)),
            "--format",
            "{{.Name}} {{.Replicas}}",
        ]));
        let line = shown
            .lines()
            .find(|l| l.split(' ').next() == Some(self.service(service).as_str()))
            .unwrap_or_else(|| panic!("no service {service}: {shown}"));
        let counts = line.split(' ').nth(1).unwrap();
        let (running, wanted) = counts.split_once('/').unwrap();
        // Global services show "1/1 (max 1 per node)" in newer engines.
        let wanted = wanted.split(' ').next().unwrap();
        (running.parse().unwrap(), wanted.parse().unwrap())
    }

    /// Waits until every service runs all its replicas and the gateway
    /// sees every service's instances.
    pub async fn wait_converged(&self, timeout: Duration) {
        let started = Instant::now();
        loop {
            let pending: Vec<String> = SERVICES
                .iter()
                .filter(|s| {
                    let (running, wanted) = self.replicas(s);
                    running != wanted || wanted == 0
                })
                .map(|s| s.to_string())
                .collect();
            if pending.is_empty()
                && let Ok(r) = reqwest::get(format!("{}/health/ready", self.gateway)).await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "the stack did not converge: {pending:?}\n{}",
                self.tasks_report()
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Every task of the stack with its state and error, for a failure.
    pub fn tasks_report(&self) -> String {
        let output = Command::new("docker")
            .args([
                "stack",
                "ps",
                &self.name,
                "--no-trunc",
                "--format",
                "{{.Name}} {{.CurrentState}} {{.Error}}",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The state of a service's last update (`completed`,
    /// `rollback_completed`...), once it has ended.
    pub fn update_state(&self, service: &str) -> String {
        let started = Instant::now();
        loop {
            let state = text(&docker(&[
                "service",
                "inspect",
                &self.service(service),
                "--format",
                "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
            ]));
            if !matches!(
                state.as_str(),
                "updating" | "rollback_started" | "paused" | "rollback_paused"
            ) {
                return state;
            }
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "{service}'s update never ended: {state}\n{}",
                self.tasks_report()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Removes the stack (its volumes stay) and waits until its tasks and
    /// networks are gone, so that it can be deployed again.
    pub async fn remove(&self) {
        docker(&["stack", "rm", &self.name]);
        let started = Instant::now();
        loop {
            let containers = text(&docker(&[
                "ps",
                "-aq",
                "--filter",
                &format!("label=com.docker.stack.namespace={}", self.name),
            ]));
            let networks = text(&docker(&[
                "network",
                "ls",
                "-q",
                "--filter",
                &format!("label=com.docker.stack.namespace={}", self.name),
            ]));
            if containers.is_empty() && networks.is_empty() {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the stack did not go away"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The ids of the running containers of a service's tasks.
    pub fn containers(&self, service: &str) -> Vec<String> {
        text(&docker(&[
            "ps",
            "-q",
            "--filter",
            &format!(
                "label=com.docker.swarm.service.name={}",
                self.service(service)
            ),
        ]))
        .lines()
        .map(str::to_owned)
        .collect()
    }
}

/// A small stable number from a name, for picking a subnet.
fn fastish(name: &str) -> u32 {
    name.bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
}

impl Drop for SwarmStack {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["stack", "rm", &self.name])
            .output();
        // Networks and volumes go once the tasks have stopped.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let left = Command::new("docker")
                .args([
                    "ps",
                    "-q",
                    "--filter",
                    &format!("label=com.docker.stack.namespace={}", self.name),
                ])
                .output()
                .map(|o| o.stdout.is_empty())
                .unwrap_or(true);
            if left {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        std::thread::sleep(Duration::from_secs(2));
        for volume in ["postgres", "nats", "etcd"] {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", &format!("{}_{volume}", self.name)])
                .output();
        }
        // Leaving the swarm the test made takes its secrets along; a swarm
        // that was there before keeps them (they may be somebody's).
        if self.made_swarm {
            let _ = Command::new("docker")
                .args(["swarm", "leave", "--force"])
                .output();
        }
        let _ = self.registry_process.kill();
        let _ = self.registry_process.wait();
    }
}
