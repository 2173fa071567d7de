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

pub fn repo() -> PathBuf {
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
    "pricing",
    "cart",
    "orders",
    "payments",
    "notifications",
    "web",
    "prometheus",
    "alertmanager",
];

/// How the test's autoscaler scales catalog: quickly, so that a test can
/// watch a whole cycle (the shipped policies wait minutes), between one
/// and three replicas, on the same signal as deploy/swarm/autoscaler.toml.
fn test_policies(stack: &str) -> String {
    format!(
        r#"prometheus_url = "http://prometheus:9090"
interval_secs = 2

[[policies]]
service = "{stack}_catalog"
min_replicas = 1
max_replicas = 3
scale_up_window_secs = 4
scale_down_window_secs = 20
cooldown_secs = 6

[[policies.signals]]
name = "requests_per_replica"
query = 'sum(rate(http_requests_total{{job="catalog"}}[10s])) / count(up{{job="catalog"}} == 1)'
target = {{ average_per_replica = 15 }}
"#
    )
}

pub struct SwarmStack {
    /// The stack's name; its services are `<name>_<service>`.
    pub name: String,
    /// The gateway, `http://127.0.0.1:<host port>`.
    pub gateway: String,
    pub registry: String,
    registry_process: Child,
    /// The registry's storage and the test's Prometheus and autoscaler
    /// settings.
    _files: tempfile::TempDir,
    made_swarm: bool,
    env: Vec<(String, String)>,
}

impl SwarmStack {
    /// Pushes `mercato-<service>:<tag>`, `mercato-autoscaler:<tag>` and the
    /// local third-party images to a fresh registry, joins or makes a
    /// swarm, creates the secrets and deploys the stack (the autoscaler at
    /// zero replicas, Prometheus scraping every 2 s); returns once every
    /// service runs its replicas.
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
            "pricing",
            "cart",
            "orders",
            "payments",
            "notifications",
            "web",
            "autoscaler",
        ]
        .iter()
        .map(|s| {
            (
                format!("mercato-{s}:{tag}"),
                format!("{registry}/mercato-{s}:{tag}"),
            )
        })
        .collect();
        for third in [
            "postgres",
            "nats",
            "etcd",
            "traefik",
            "prometheus",
            "alertmanager",
        ] {
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
        // The shipped Prometheus settings, scraping often enough for the
        // autoscaler's short test windows.
        let prometheus_config = data.path().join("prometheus.yml");
        let shipped =
            std::fs::read_to_string(repo().join("deploy/prometheus/prometheus-swarm.yml")).unwrap();
        assert!(shipped.contains("  scrape_interval: 15s\n"));
        std::fs::write(
            &prometheus_config,
            shipped.replace("  scrape_interval: 15s\n", "  scrape_interval: 2s\n"),
        )
        .unwrap();
        let policies = data.path().join("autoscaler.toml");
        std::fs::write(&policies, test_policies(&name)).unwrap();
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
            (
                "MERCATO_PROMETHEUS_IMAGE",
                format!("{registry}/mercato-local/prometheus:local"),
            ),
            (
                "MERCATO_ALERTMANAGER_IMAGE",
                format!("{registry}/mercato-local/alertmanager:local"),
            ),
            (
                "MERCATO_PROMETHEUS_CONFIG",
                prometheus_config.display().to_string(),
            ),
            (
                "MERCATO_AUTOSCALER_POLICIES",
                policies.display().to_string(),
            ),
            // Off until the test turns it on: the other steps scale by hand.
            ("MERCATO_AUTOSCALER_REPLICAS", "0".to_owned()),
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
            _files: data,
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

impl SwarmStack {
    /// An instant PromQL query to the stack's own Prometheus (from inside
    /// its container: it is on the overlay network only), as
    /// (labels, value) pairs.
    pub fn query(&self, expr: &str) -> Vec<(serde_json::Map<String, serde_json::Value>, f64)> {
        let container = self
            .containers("prometheus")
            .into_iter()
            .next()
            .expect("Prometheus runs");
        let output = Command::new("docker")
            .args([
                "exec",
                &container,
                "promtool",
                "query",
                "instant",
                "-o",
                "json",
                "http://127.0.0.1:9090",
                expr,
            ])
            .output()
            .unwrap();
        if !output.status.success() {
            // Not ready yet, or the query failed: no samples.
            return Vec::new();
        }
        let samples: Vec<serde_json::Value> =
            serde_json::from_slice(&output.stdout).unwrap_or_default();
        samples
            .into_iter()
            .filter_map(|s| {
                let labels = s["metric"].as_object()?.clone();
                let value = s["value"][1].as_str()?.parse().ok()?;
                Some((labels, value))
            })
            .collect()
    }

    /// The image a service's tasks run (`registry/name:tag@sha256:...`).
    pub fn image(&self, service: &str) -> String {
        text(&docker(&[
            "service",
            "inspect",
            &self.service(service),
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        ]))
    }

    /// A release of a service: `mercato-<service>:<from>` with `extra`
    /// Dockerfile lines and its version label, pushed as `<version>`.
    pub fn release(&self, service: &str, from: &str, version: &str, extra: &str) {
        let image = format!("{}/mercato-{service}:{version}", self.registry);
        let dockerfile = format!(
            "FROM mercato-{service}:{from}\n{extra}LABEL org.opencontainers.image.version={version}\n"
        );
        let mut build = Command::new("docker")
            .args(["build", "-q", "-t", &image, "-"])
            .env("DOCKER_BUILDKIT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        build
            .stdin
            .take()
            .unwrap()
            .write_all(dockerfile.as_bytes())
            .unwrap();
        let built = build.wait_with_output().unwrap();
        assert!(
            built.status.success(),
            "docker build {image}: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        docker(&["push", "-q", &image]);
    }

    /// `scripts/deploy swarm` of `services` at `version` from the
    /// registry, smoke-tested through the gateway.
    pub fn deploy_script(&self, version: &str, services: &str) -> Output {
        Command::new(repo().join("scripts/deploy"))
            .args(["swarm", "--stack", &self.name, "--registry", &self.registry])
            .args([
                "--tag",
                version,
                "--url",
                &self.gateway,
                "--services",
                services,
            ])
            .output()
            .unwrap()
    }

    /// The replicas a service is set to (not how many run).
    pub fn wanted(&self, service: &str) -> u32 {
        text(&docker(&[
            "service",
            "inspect",
            &self.service(service),
            "--format",
            "{{.Spec.Mode.Replicated.Replicas}}",
        ]))
        .parse()
        .unwrap()
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
        for volume in ["postgres", "nats", "etcd", "prometheus", "alertmanager"] {
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
