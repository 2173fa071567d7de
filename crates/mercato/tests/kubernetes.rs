//! The Kubernetes deployment, checked offline (no API server runs here):
//! `kubectl kustomize` renders every overlay of `deploy/kubernetes`, every
//! rendered object of the Kubernetes API passes `kubernetes-validate`
//! (strict, against a current release's schemas), every KEDA and
//! Prometheus Operator resource passes the CRD schema its project
//! publishes (tests/kubernetes/crds), and the invariants a
//! reviewer would check hold: probes, limits, a restricted security
//! context, a disruption budget and an autoscaler for every service;
//! Services, Ingress backends, autoscaler targets and secret references
//! that resolve; the gateway routes every prefix the services own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;
use testkit::Target;

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes")
}

/// The objects `kubectl kustomize` renders for an overlay.
fn render(overlay: &str) -> (String, Vec<Value>) {
    let kubectl = testkit::installed("MERCATO_TEST_KUBECTL", "kubectl's path");
    let output = Command::new(kubectl)
        .arg("kustomize")
        .arg(deploy().join("overlays").join(overlay))
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl kustomize {overlay}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let objects: Vec<Value> = serde_saphyr::from_multiple(&text).expect("rendered YAML");
    assert!(!objects.is_empty(), "{overlay} renders nothing");
    (text, objects)
}

/// `kubernetes-validate --strict` on the rendered text: every object of
/// the core API must match its schema. The custom resources (KEDA's
/// ScaledObjects, the Prometheus Operator's ServiceMonitor), which it
/// cannot check, are validated strictly against the CRDs those projects
/// publish (tests/kubernetes/crds), each of them.
fn validate(overlay: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{overlay}.yaml"));
    std::fs::write(&file, text).unwrap();
    let validator = testkit::installed("MERCATO_TEST_KUBERNETES_VALIDATE", "kubernetes-validate");
    let output = Command::new(validator)
        .args(["--strict", "--kubernetes-version", "1.34.0"])
        .arg(&file)
        .output()
        .expect("kubernetes-validate runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{overlay}:\n{report}");
    for line in report.lines().filter(|l| l.starts_with("WARN")) {
        assert!(
            line.contains("keda.sh/") || line.contains("monitoring.coreos.com/"),
            "{overlay}: {line}"
        );
    }
    let objects: Vec<Value> = serde_saphyr::from_multiple(text).unwrap();
    let mut custom: Vec<String> = Vec::new();
    for object in &objects {
        let api = object["apiVersion"].as_str().unwrap_or_default();
        if api.starts_with("keda.sh/") || api.starts_with("monitoring.coreos.com/") {
            custom.push(format!(
                "VALID {} {} against {api}",
                object["kind"].as_str().unwrap_or_default(),
                name(object)
            ));
        }
    }

    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kubernetes");
    let python = testkit::installed(
        "MERCATO_TEST_KUBERNETES_PYTHON",
        "the Python of kubernetes-validate (jsonschema)",
    );
    let output = Command::new(python)
        .arg(tests.join("validate_crds.py"))
        .arg(&file)
        .arg(tests.join("crds/keda.sh_scaledobjects.yaml"))
        .arg(tests.join("crds/monitoring.coreos.com_servicemonitors.yaml"))
        .output()
        .expect("validate_crds.py runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{overlay}, custom resources:\n{report}"
    );
    let checked: Vec<&str> = report.lines().filter(|l| l.starts_with("VALID")).collect();
    assert_eq!(
        checked, custom,
        "{overlay}: every custom resource is checked"
    );
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap()
}

/// Whether `selector` (a label map; absent or empty selects nothing
/// here) selects `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    selector.as_object().is_some_and(|selector| {
        !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    })
}

/// Every secret and config map a pod spec names must be in the render,
/// with the key it reads.
fn assert_references_resolve(objects: &[Value], owner: &str, pod: &Value) {
    let find = |kind: &str, wanted: &str| -> Option<&Value> {
        objects
            .iter()
            .find(|o| o["kind"] == kind && name(o) == wanted)
    };
    for container in pod["containers"].as_array().unwrap() {
        for from in container["envFrom"].as_array().into_iter().flatten() {
            for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                if let Some(reference) = from.get(field) {
                    let wanted = reference["name"].as_str().unwrap();
                    assert!(
                        find(kind, wanted).is_some(),
                        "{owner}: {kind} {wanted} is not in the render"
                    );
                }
            }
        }
        for env in container["env"].as_array().into_iter().flatten() {
            for (field, kind, data) in [
                ("secretKeyRef", "Secret", "data"),
                ("configMapKeyRef", "ConfigMap", "data"),
            ] {
                if let Some(reference) = env["valueFrom"].get(field) {
                    let (wanted, key) = (
                        reference["name"].as_str().unwrap(),
                        reference["key"].as_str().unwrap(),
                    );
                    let object = find(kind, wanted)
                        .unwrap_or_else(|| panic!("{owner}: {kind} {wanted} is not in the render"));
                    assert!(
                        object[data].get(key).is_some(),
                        "{owner}: {kind} {wanted} has no key {key}"
                    );
                }
            }
        }
    }
    for volume in pod["volumes"].as_array().into_iter().flatten() {
        if let Some(secret) = volume.get("secret") {
            let wanted = secret["secretName"].as_str().unwrap();
            let object = find("Secret", wanted)
                .unwrap_or_else(|| panic!("{owner}: Secret {wanted} is not in the render"));
            for item in secret["items"].as_array().into_iter().flatten() {
                let key = item["key"].as_str().unwrap();
                assert!(
                    object["data"].get(key).is_some(),
                    "{owner}: Secret {wanted} has no key {key}"
                );
            }
        }
        if let Some(map) = volume.get("configMap") {
            let wanted = map["name"].as_str().unwrap();
            assert!(
                find("ConfigMap", wanted).is_some(),
                "{owner}: ConfigMap {wanted} is not in the render"
            );
        }
        if let Some(claim) = volume.get("persistentVolumeClaim") {
            let wanted = claim["claimName"].as_str().unwrap();
            assert!(
                find("PersistentVolumeClaim", wanted).is_some(),
                "{owner}: claim {wanted} is not in the render"
            );
        }
    }
}

/// What every container must have: probes on the health routes, requests
/// and limits, and a container that cannot gain privileges or write its
/// root filesystem; the pod runs as a non-root user.
fn assert_hardened(owner: &str, pod: &Value) {
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{owner}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "{owner}"
    );
    assert_eq!(pod["automountServiceAccountToken"], false, "{owner}");
    for container in pod["containers"].as_array().unwrap() {
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            let path = container[probe]["httpGet"]["path"].as_str();
            assert!(
                path.is_some_and(|p| p.starts_with("/health/")),
                "{owner}: {probe} {path:?}"
            );
        }
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"], "/health/ready",
            "{owner}"
        );
        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"][bound][resource].is_string(),
                    "{owner}: no {bound}.{resource}"
                );
            }
        }
        let security = &container["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], false, "{owner}");
        assert_eq!(security["readOnlyRootFilesystem"], true, "{owner}");
        assert_eq!(security["capabilities"]["drop"][0], "ALL", "{owner}");
    }
}

/// Every Service selects pods of one workload (a Deployment or a
/// StatefulSet) and targets a port they name; every Ingress backend is a
/// Service port.
fn assert_services_and_ingress(objects: &[Value]) {
    let mut deployments = of_kind(objects, "Deployment");
    deployments.extend(of_kind(objects, "StatefulSet"));
    for service in of_kind(objects, "Service") {
        let selected: Vec<&&Value> = deployments
            .iter()
            .filter(|d| {
                selects(
                    &service["spec"]["selector"],
                    &d["spec"]["template"]["metadata"]["labels"],
                )
            })
            .collect();
        assert_eq!(
            selected.len(),
            1,
            "Service {} selects {selected:?}",
            name(service)
        );
        let ports: BTreeSet<&str> = selected[0]["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["ports"].as_array().unwrap())
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for port in service["spec"]["ports"].as_array().unwrap() {
            assert!(
                ports.contains(port["targetPort"].as_str().unwrap()),
                "Service {}: {port}",
                name(service)
            );
        }
    }
    for ingress in of_kind(objects, "Ingress") {
        for rule in ingress["spec"]["rules"].as_array().unwrap() {
            for path in rule["http"]["paths"].as_array().unwrap() {
                let backend = &path["backend"]["service"];
                let service = of_kind(objects, "Service")
                    .into_iter()
                    .find(|s| name(s) == backend["name"])
                    .unwrap_or_else(|| panic!("Ingress backend {backend} is no Service"));
                assert!(
                    service["spec"]["ports"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == backend["port"]["name"]),
                    "Ingress backend {backend}"
                );
            }
        }
    }
}

#[test]
fn the_prod_overlay_renders_valid_hardened_autoscaled_services() {
    let objects = services_overlay("prod");
    // Prometheus Operator users get every service scraped.
    let monitor = &of_kind(&objects, "ServiceMonitor")[0];
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
}

#[test]
fn the_staging_overlay_adds_postgres_and_nats_in_the_cluster() {
    let objects = services_overlay("staging");
    for name in ["postgres", "nats"] {
        let set = of_kind(&objects, "StatefulSet")
            .into_iter()
            .find(|s| self::name(s) == name)
            .unwrap_or_else(|| panic!("no StatefulSet {name}"));
        let pod = &set["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        for container in pod["containers"].as_array().unwrap() {
            for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                assert!(container[probe].is_object(), "{name}: no {probe}");
            }
            assert!(
                container["resources"]["limits"]["memory"].is_string(),
                "{name}"
            );
            assert_eq!(
                container["securityContext"]["allowPrivilegeEscalation"],
                false
            );
        }
        assert_references_resolve(&objects, name, pod);
        // Its data on a volume of its own.
        assert!(set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data");
        assert!(
            of_kind(&objects, "Service")
                .iter()
                .any(|s| self::name(s) == name && s["spec"]["clusterIP"] == "None"),
            "{name}: no headless Service"
        );
    }
    // The services and KEDA talk to the NATS inside.
    let config = of_kind(&objects, "ConfigMap")
        .into_iter()
        .find(|c| name(c).starts_with("mercato-config"))
        .unwrap();
    assert_eq!(
        config["data"]["MERCATO__EVENTBUS__NATS_URL"],
        "nats://nats:4222"
    );
    for scaled in of_kind(&objects, "ScaledObject") {
        assert_eq!(
            scaled["spec"]["triggers"][0]["metadata"]["natsServerMonitoringEndpoint"],
            "nats.mercato.svc.cluster.local:8222"
        );
    }
}

/// An overlay of the seven services: rendered, validated, and every
/// invariant checked; returns its objects for more.
fn services_overlay(overlay: &str) -> Vec<Value> {
    let (text, objects) = render(overlay);
    validate(overlay, &text);
    assert!(
        objects
            .iter()
            .filter(|o| o["kind"] != "Namespace")
            .all(|o| o["metadata"]["namespace"] == "mercato"),
        "every object lives in the mercato namespace"
    );

    let deployments = of_kind(&objects, "Deployment");
    let names: BTreeSet<&str> = deployments.iter().map(|d| name(d)).collect();
    let services: BTreeSet<&str> = Target::ALL.iter().map(|t| t.name()).collect();
    assert_eq!(names, services, "one Deployment per service");
    let autoscalers: Vec<(&str, &Value)> = of_kind(&objects, "HorizontalPodAutoscaler")
        .into_iter()
        .chain(of_kind(&objects, "ScaledObject"))
        .map(|a| (a["kind"].as_str().unwrap(), &a["spec"]))
        .collect();
    for deployment in &deployments {
        let owner = name(deployment);
        let pod = &deployment["spec"]["template"]["spec"];
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        assert_hardened(owner, pod);
        assert_references_resolve(&objects, owner, pod);
        assert!(
            pod["topologySpreadConstraints"]
                .as_array()
                .is_some_and(|c| !c.is_empty()),
            "{owner}: pods are not spread"
        );
        // The autoscaler owns the replica count: a fixed one here would
        // reset it on every apply.
        assert!(deployment["spec"]["replicas"].is_null(), "{owner}");
        assert_eq!(
            deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0,
            "{owner}"
        );
        // Each image is its service's, pinned by the overlay.
        let image = pod["containers"][0]["image"].as_str().unwrap();
        assert!(
            image.ends_with(&format!("/{owner}:0.1.0")),
            "{owner}: image {image}"
        );
        // One disruption budget selects it.
        let budgets: Vec<&Value> = of_kind(&objects, "PodDisruptionBudget")
            .into_iter()
            .filter(|b| selects(&b["spec"]["selector"]["matchLabels"], labels))
            .collect();
        assert_eq!(budgets.len(), 1, "{owner}: budgets {budgets:?}");
        // Exactly one autoscaler targets it, with room to scale.
        let scaling: Vec<&(&str, &Value)> = autoscalers
            .iter()
            .filter(|(_, spec)| {
                spec["scaleTargetRef"]["kind"] == "Deployment"
                    && spec["scaleTargetRef"]["name"] == owner
            })
            .collect();
        assert_eq!(scaling.len(), 1, "{owner}: autoscalers {scaling:?}");
        let (kind, spec) = scaling[0];
        let (min, max) = match *kind {
            "HorizontalPodAutoscaler" => (&spec["minReplicas"], &spec["maxReplicas"]),
            _ => (&spec["minReplicaCount"], &spec["maxReplicaCount"]),
        };
        assert!(
            min.as_u64().unwrap() >= 1 && max.as_u64().unwrap() > min.as_u64().unwrap(),
            "{owner}: {min}..{max}"
        );
        if *kind == "ScaledObject" {
            // Event-driven: on its own consumer's lag.
            let trigger = spec["triggers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["type"] == "nats-jetstream")
                .unwrap_or_else(|| panic!("{owner}: no NATS JetStream trigger"));
            assert_eq!(trigger["metadata"]["stream"], "MERCATO");
            assert!(
                trigger["metadata"]["consumer"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{owner}-")),
                "{owner}: {trigger}"
            );
        } else {
            let metrics: BTreeSet<&str> = spec["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["type"].as_str().unwrap())
                .collect();
            assert_eq!(metrics, BTreeSet::from(["Resource", "Pods"]), "{owner}");
        }
        // Admitted by a network policy (the namespace denies by default).
        assert!(
            of_kind(&objects, "NetworkPolicy")
                .iter()
                .any(|p| selects(&p["spec"]["podSelector"]["matchLabels"], labels)),
            "{owner}: no network policy admits it"
        );
    }
    assert_services_and_ingress(&objects);
    assert!(
        of_kind(&objects, "NetworkPolicy")
            .iter()
            .any(|p| p["spec"]["podSelector"] == serde_json::json!({})),
        "no default-deny policy"
    );

    // The Ingress routes every prefix each service owns to that service.
    let mut routed: BTreeMap<String, String> = BTreeMap::new();
    for ingress in of_kind(&objects, "Ingress") {
        for rule in ingress["spec"]["rules"].as_array().unwrap() {
            for path in rule["http"]["paths"].as_array().unwrap() {
                routed.insert(
                    path["path"].as_str().unwrap().to_owned(),
                    path["backend"]["service"]["name"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
    }
    for target in Target::ALL {
        for prefix in target.route_prefixes() {
            assert_eq!(
                routed.get(*prefix).map(String::as_str),
                Some(target.name()),
                "{prefix}"
            );
        }
    }
    objects
}

#[test]
fn the_dev_overlay_renders_one_valid_all_in_one_pod_on_a_volume() {
    let (text, objects) = render("dev");
    validate("dev", &text);
    let deployments = of_kind(&objects, "Deployment");
    assert_eq!(deployments.len(), 1);
    let deployment = deployments[0];
    let pod = &deployment["spec"]["template"]["spec"];
    assert_hardened("mercato", pod);
    assert_references_resolve(&objects, "mercato", pod);
    // SQLite takes one writer: one replica, replaced rather than doubled.
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    assert!(
        pod["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == "/data" && m["name"] == "data")
    );
    assert_services_and_ingress(&objects);
}
