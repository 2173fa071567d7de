//! The monitoring an operator runs unchanged (deploy/prometheus,
//! deploy/alertmanager), checked by the real tools: Prometheus's own
//! validation and rule unit tests (`promtool test rules`, one test or more
//! for every alert), and Alertmanager's configuration check.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::{path::PathBuf, process::Command};

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn tool(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(path) if !path.is_empty() => path,
        _ => panic!(
            "{variable} is not set: run the tests with scripts/test, which installs Prometheus and Alertmanager"
        ),
    }
}

/// Runs a tool in `deploy/prometheus`, failing with its output.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .current_dir(deploy().join("prometheus"))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_prometheus_configuration_and_rules_are_valid_and_every_alert_passes_its_tests() {
    let promtool = tool("MERCATO_TEST_PROMTOOL");
    run(
        &promtool,
        &["check", "config", "--syntax-only", "prometheus.yml"],
    );
    run(
        &promtool,
        &["check", "rules", "rules/slo.yml", "rules/alerts.yml"],
    );
    run(&promtool, &["test", "rules", "tests/alerts.test.yml"]);
}

#[test]
fn every_alert_has_a_rule_test_that_expects_it_to_fire() {
    let rules = ["slo.yml", "alerts.yml"]
        .map(|f| std::fs::read_to_string(deploy().join("prometheus/rules").join(f)).unwrap())
        .join("\n");
    let tests = std::fs::read_to_string(deploy().join("prometheus/tests/alerts.test.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for alert in alerts {
        // A test that expects alerts of this name (not only that it is quiet).
        let fires = tests.split("alertname: ").skip(1).any(|rest| {
            rest.starts_with(alert)
                && rest
                    .split("alertname: ")
                    .next()
                    .is_some_and(|block| block.contains("exp_alerts:"))
        });
        assert!(fires, "no promtool test expects {alert} to fire");
    }
}

#[test]
fn the_alertmanager_configuration_is_valid() {
    let amtool = tool("MERCATO_TEST_AMTOOL");
    let config = deploy().join("alertmanager/alertmanager.yml");
    run(&amtool, &["check-config", config.to_str().unwrap()]);
}
