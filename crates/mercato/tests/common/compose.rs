//! The Compose deployment on this machine's Docker engine, for the tests
//! that drive it: the same `deploy/compose/compose.yaml` with
//! `compose.local.yaml`, which swaps only the third-party `image:`s for
//! the locally built ones (no registry is reachable), plus a file of the
//! test's own that publishes etcd for the test to read registrations.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use platform::discovery::Etcd;

use super::{free_port, wait_routes};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine_available() -> bool {
    Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Compose project of the test; taken down with its volumes on drop.
pub struct Project {
    name: String,
    dir: tempfile::TempDir,
}

impl Project {
    fn command(&self) -> Command {
        let mut command = Command::new("docker-compose");
        command
            .arg("--project-name")
            .arg(&self.name)
            .arg("--env-file")
            .arg(self.dir.path().join(".env"))
            .arg("-f")
            .arg(repo().join("deploy/compose/compose.yaml"))
            .arg("-f")
            .arg(repo().join("deploy/compose/compose.local.yaml"))
            .arg("-f")
            .arg(self.dir.path().join("test-ports.yaml"));
        command
    }

    /// `docker-compose ARGS` on the project; a failure fails the test.
    pub fn compose(&self, args: &[&str]) -> std::process::Output {
        let output = self
            .command()
            .args(args)
            .output()
            .expect("docker-compose runs");
        assert!(
            output.status.success(),
            "docker-compose {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// The container ids of a service.
    pub fn container_ids(&self, service: &str) -> Vec<String> {
        let out = self.compose(&["ps", "-q", service]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// `docker ARGS` (kill, start...) on one container.
    pub fn docker(&self, args: &[&str]) {
        let output = Command::new("docker").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self
            .command()
            .args(["down", "-v", "--remove-orphans"])
            .output();
    }
}

/// Fails clearly when scripts/build-images has not built the images that
/// compose.local.yaml names.
fn require_local_images() {
    for image in ["postgres", "nats", "etcd", "traefik"] {
        let name = format!("mercato-local/{image}:local");
        let found = Command::new("docker")
            .args(["image", "inspect", &name])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "no image {name}: run scripts/build-images");
    }
}

/// The addresses of a service's instances registered in etcd.
pub async fn instance_urls(etcd: &Etcd, service: &str) -> Vec<String> {
    etcd.prefix(&platform::discovery::servers_prefix(service))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(_, url)| url)
        .collect()
}

/// A running stack: the project, the gateway's URL and its etcd.
pub struct Stack {
    pub project: Project,
    pub gateway: String,
    pub etcd: Etcd,
}

impl Stack {
    /// Starts the stack with `extra` lines in its `.env`, and waits until
    /// the gateway routes every service. None (the test passes, saying so)
    /// without a Docker engine, except under `CI=true`, where that fails.
    pub async fn up(extra: &[(&str, &str)]) -> Option<Stack> {
        if !engine_available() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no Docker engine answers"
            );
            eprintln!("skipped: no Docker engine is reachable (the container tests need one)");
            return None;
        }
        require_local_images();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let etcd_port = free_port();
        let mut env = format!(
            "POSTGRES_PASSWORD=pg-secret\nUSERS_DB_PASSWORD=u-secret\nCATALOG_DB_PASSWORD=c-secret\n\
             PRICING_DB_PASSWORD=pr-secret\n\
             CART_DB_PASSWORD=ca-secret\nORDERS_DB_PASSWORD=o-secret\nPAYMENTS_DB_PASSWORD=p-secret\n\
             NOTIFICATIONS_DB_PASSWORD=n-secret\nADMIN_EMAIL={}\nADMIN_PASSWORD={}\n\
             MERCATO_HTTP_PORT={port}\nMERCATO_ADMIN_PORT={}\nMERCATO_TAG={}\n",
            testkit::ADMIN_EMAIL,
            testkit::ADMIN_PASSWORD,
            free_port(),
            std::env::var("MERCATO_TEST_IMAGE_TAG").unwrap_or_else(|_| "latest".into()),
        );
        for (key, value) in extra {
            env.push_str(&format!("{key}={value}\n"));
        }
        std::fs::write(dir.path().join(".env"), env).unwrap();
        std::fs::write(
            dir.path().join("test-ports.yaml"),
            format!("services:\n  etcd:\n    ports: [\"127.0.0.1:{etcd_port}:2379\"]\n"),
        )
        .unwrap();
        let project = Project {
            name: format!("mt{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            dir,
        };
        project.compose(&["up", "-d"]);
        let gateway = format!("http://127.0.0.1:{port}");
        wait_routes(&gateway, Duration::from_secs(180)).await;
        let etcd = Etcd::new(&format!("http://127.0.0.1:{etcd_port}")).unwrap();
        Some(Stack {
            project,
            gateway,
            etcd,
        })
    }

    /// Waits until `service` has `n` registered instances.
    pub async fn wait_instances(&self, service: &str, n: usize) {
        let started = Instant::now();
        while instance_urls(&self.etcd, service).await.len() != n {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "{service} never had {n} instances"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// `docker-compose config` of the shipped file with `profile` on and the
/// example settings standing in for an operator's `.env`: the file as
/// Compose resolves it (no engine needed).
pub fn resolved_config(profile: &str) -> String {
    let compose = repo().join("deploy/compose");
    let mut command = Command::new("docker-compose");
    command
        .current_dir(&compose)
        .args(["-f", "compose.yaml", "--profile", profile, "config"]);
    for line in std::fs::read_to_string(compose.join("env.example"))
        .unwrap()
        .lines()
    {
        if let Some((key, value)) = line.split_once('=')
            && !key.starts_with('#')
        {
            command.env(key.trim(), value.trim());
        }
    }
    let output = command.output().expect("docker-compose runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// One service's block of a resolved file (its lines under `services:`).
pub fn service_block(config: &str, service: &str) -> String {
    let start = config
        .find(&format!("\n  {service}:\n"))
        .unwrap_or_else(|| panic!("no service {service}:\n{config}"));
    config[start + 1..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that `service` in `config` runs a pinned image, only under
/// `profile`, with each `(source under deploy/, target)` mounted read-only.
pub fn assert_mounts(config: &str, service: &str, profile: &str, mounts: &[(&str, &str)]) {
    let block = service_block(config, service);
    let image = block
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .unwrap_or_else(|| panic!("{service} has no image"));
    assert!(
        image.contains(':') && !image.ends_with(":latest"),
        "{service} runs an unpinned image: {image}"
    );
    assert!(
        block.contains(&format!("profiles:\n    - {profile}")),
        "{service} is not in the {profile} profile: {block}"
    );
    for (source, target) in mounts {
        let file = repo().join("deploy").join(source).canonicalize().unwrap();
        let mount = format!("- {}:{target}:ro", file.display());
        assert!(
            block.contains(&mount),
            "{service} does not mount {source} at {target}: {block}"
        );
    }
}
