//! Centralized logs, through the shipped files: `deploy/elasticsearch/
//! setup.sh` loads the index template into a server of the Elasticsearch
//! API (noida-db; the real Elasticsearch cannot run here), rsyslog runs
//! `deploy/rsyslog/mercato.conf` unchanged and ships the seven-process mode's
//! log files while a checkout and a failure happen, and the Kibana saved
//! searches' own queries find them: every line of the checkout by
//! `trace.id`, every line of one request by `http.request.id`, the errors
//! by service, with ECS field types (a status code is a number). Every line
//! arrives exactly once, also when rsyslog forgets where it was and sends
//! everything again. The Filebeat and Kibana halves are checked as files:
//! the queries and fields they name exist in the template.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a failed step fails the test loudly, in helpers too"
)]

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use common::{
    compose,
    processes::{Env, Stack},
    wait_routes,
};
use serde_json::{Value, json};
use testkit::{
    Backend, Target,
    etcd::EtcdServer,
    logging::{Elasticsearch, Rsyslog},
    nats::NatsServer,
    shop::{cart_with, pay, place, product, wait_status},
    traefik::Traefik,
};

const STREAM: &str = "logs-mercato-default";

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The shipped Kibana objects, by id.
fn kibana_objects() -> BTreeMap<String, Value> {
    std::fs::read_to_string(deploy().join("kibana/saved-objects.ndjson"))
        .unwrap()
        .lines()
        .map(|line| {
            let object: Value = serde_json::from_str(line).expect("one JSON object a line");
            (object["id"].as_str().unwrap().to_owned(), object)
        })
        .collect()
}

/// The Lucene query of a saved search or visualization.
fn query_of(object: &Value) -> String {
    let source: Value = serde_json::from_str(
        object["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(source["query"]["language"], "lucene", "{}", object["id"]);
    source["query"]["query"].as_str().unwrap().to_owned()
}

/// A saved search's query for one value: its `field:*` made `field:"value"`.
fn saved_query(id: &str, value: &str) -> String {
    let query = query_of(&kibana_objects()[id]);
    assert!(query.ends_with(":*"), "{id} is not a lookup: {query}");
    format!("{}\"{value}\"", query.trim_end_matches('*'))
}

/// Every field the index template maps, dotted, with its type.
fn mapped_fields() -> BTreeMap<String, String> {
    fn walk(prefix: &str, properties: &Value, out: &mut BTreeMap<String, String>) {
        for (name, mapping) in properties.as_object().unwrap() {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match mapping.get("properties") {
                Some(inner) => walk(&path, inner, out),
                None => {
                    out.insert(path, mapping["type"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy().join("elasticsearch/index-template.json")).unwrap(),
    )
    .unwrap();
    let mut out = BTreeMap::new();
    walk(
        "",
        &template["template"]["mappings"]["properties"],
        &mut out,
    );
    out
}

/// The fields a Lucene query names (`field:value` terms).
fn query_fields(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .filter_map(|term| term.split_once(':').map(|(field, _)| field.to_owned()))
        .collect()
}

#[test]
fn the_kibana_objects_filebeat_and_rsyslog_name_only_what_the_template_maps() {
    let fields = mapped_fields();
    // ECS types the issue names, and the ones Kibana sorts and sums by.
    for (field, kind) in [
        ("@timestamp", "date"),
        ("http.response.status_code", "long"),
        ("event.duration", "long"),
        ("trace.id", "keyword"),
        ("http.request.id", "keyword"),
        ("service.name", "keyword"),
        ("log.level", "keyword"),
        ("message", "match_only_text"),
    ] {
        assert_eq!(fields.get(field).map(String::as_str), Some(kind), "{field}");
    }
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy().join("elasticsearch/index-template.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(template["index_patterns"], json!(["logs-mercato-*"]));
    assert!(template["data_stream"].is_object());
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy().join("elasticsearch/ilm-policy.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        template["template"]["settings"]["index.lifecycle.name"],
        "mercato-logs"
    );
    assert!(policy["policy"]["phases"]["hot"]["actions"]["rollover"].is_object());
    assert!(policy["policy"]["phases"]["delete"]["actions"]["delete"].is_object());

    let objects = kibana_objects();
    let data_view = &objects["mercato-logs"];
    assert_eq!(data_view["type"], "index-pattern");
    assert_eq!(data_view["attributes"]["title"], "logs-mercato-*");
    assert_eq!(data_view["attributes"]["timeFieldName"], "@timestamp");
    for (id, object) in &objects {
        // Every reference is to an object of the file, of the right type.
        for reference in object["references"].as_array().unwrap() {
            let target = objects
                .get(reference["id"].as_str().unwrap())
                .unwrap_or_else(|| panic!("{id} refers to a missing {reference}"));
            assert_eq!(target["type"], reference["type"], "{id}: {reference}");
        }
        let mut named = Vec::new();
        match object["type"].as_str().unwrap() {
            "search" => {
                named.extend(query_fields(&query_of(object)));
                for column in object["attributes"]["columns"].as_array().unwrap() {
                    named.push(column.as_str().unwrap().to_owned());
                }
                for sort in object["attributes"]["sort"].as_array().unwrap() {
                    named.push(sort[0].as_str().unwrap().to_owned());
                }
            }
            "visualization" => {
                named.extend(query_fields(&query_of(object)));
                let vis: Value =
                    serde_json::from_str(object["attributes"]["visState"].as_str().unwrap())
                        .unwrap();
                for agg in vis["aggs"].as_array().unwrap() {
                    if let Some(field) = agg["params"]["field"].as_str() {
                        named.push(field.to_owned());
                    }
                }
            }
            "dashboard" => {
                let panels: Vec<Value> =
                    serde_json::from_str(object["attributes"]["panelsJSON"].as_str().unwrap())
                        .unwrap();
                let names: BTreeSet<&str> = object["references"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["name"].as_str().unwrap())
                    .collect();
                assert!(!panels.is_empty());
                for panel in &panels {
                    assert!(
                        names.contains(panel["panelRefName"].as_str().unwrap()),
                        "{id}: panel without a reference: {panel}"
                    );
                }
            }
            "index-pattern" => {}
            other => panic!("{id}: unexpected object type {other}"),
        }
        for field in named {
            assert!(
                fields.contains_key(&field),
                "{id} names {field}, which the template does not map"
            );
        }
    }
    for title in [
        "Errors by service",
        "One request by http.request.id",
        "One checkout by trace.id",
    ] {
        assert!(
            objects
                .values()
                .any(|o| o["type"] == "search" && o["attributes"]["title"] == title),
            "no saved search {title}"
        );
    }
    assert!(objects.values().any(|o| o["type"] == "dashboard"));

    // Both shippers write the data stream the template is for.
    let filebeat: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(deploy().join("filebeat/filebeat.yml")).unwrap(),
    )
    .expect("filebeat.yml is YAML");
    assert_eq!(filebeat["output.elasticsearch"]["index"], STREAM);
    assert_eq!(filebeat["setup.template.enabled"], false);
    assert_eq!(filebeat["setup.ilm.enabled"], false);
    // Resent lines are refused as duplicates: the id is the line's hash.
    assert!(
        filebeat["processors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["fingerprint"]["target_field"] == "@metadata._id"),
        "{filebeat}"
    );
    let rsyslog = std::fs::read_to_string(deploy().join("rsyslog/mercato.conf")).unwrap();
    assert!(rsyslog.contains(&format!("searchIndex=\"{STREAM}\"")));

    // The Compose profile mounts these files where each program reads them.
    let config = compose::resolved_config("logging");
    compose::assert_mounts(
        &config,
        "filebeat",
        "logging",
        &[("filebeat/filebeat.yml", "/usr/share/filebeat/filebeat.yml")],
    );
    compose::assert_mounts(
        &config,
        "logging-setup",
        "logging",
        &[
            ("elasticsearch", "/setup/elasticsearch"),
            ("kibana", "/setup/kibana"),
        ],
    );
    compose::assert_mounts(&config, "elasticsearch", "logging", &[]);
    compose::assert_mounts(&config, "kibana", "logging", &[]);
}

/// Every log line the processes wrote, parsed.
fn written_lines(data: &Path) -> Vec<Value> {
    let mut lines = Vec::new();
    for target in Target::SERVICES {
        let text = std::fs::read_to_string(data.join(format!("{target}.log"))).unwrap();
        for line in text.lines() {
            lines.push(serde_json::from_str(line).expect("a JSON log line"));
        }
    }
    lines
}

/// Whether a line counts as an error: the "Errors by service" search.
fn is_error(line: &Value) -> bool {
    line["log.level"] == "error"
        || line["http.response.status_code"]
            .as_u64()
            .is_some_and(|s| s >= 500)
}

async fn stored(es: &Elasticsearch) -> u64 {
    let answer = es
        .search(STREAM, &json!({"size": 0, "track_total_hits": true}))
        .await;
    answer["hits"]["total"]["value"].as_u64().unwrap()
}

/// Waits until the data stream holds `expected` documents; fails at once
/// if it holds more (a line stored twice).
async fn wait_stored(es: &Elasticsearch, expected: u64) {
    let started = Instant::now();
    loop {
        let count = stored(es).await;
        assert!(count <= expected, "{count} documents for {expected} lines");
        if count == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{count} of {expected} lines arrived"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The documents a Lucene query finds, their sources.
async fn found(es: &Elasticsearch, query: &str) -> Vec<Value> {
    let answer = es
        .search(
            STREAM,
            &json!({"size": 10000, "query": {"query_string": {"query": query}}}),
        )
        .await;
    answer["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_source"].clone())
        .collect()
}

/// How many of `lines` there are per service.
fn per_service<'a>(lines: impl Iterator<Item = &'a Value>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in lines {
        *out.entry(line["service.name"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seven_process_checkout_is_shipped_once_and_found_by_trace_request_and_error() {
    let es = Elasticsearch::start().await;
    // The operator's setup, as the Compose logging-setup service runs it.
    let setup = Command::new("bash")
        .arg(deploy().join("elasticsearch/setup.sh"))
        .env("ES_URL", &es.base)
        .env("SETUP_TIMEOUT_SECS", "30")
        .env_remove("KIBANA_URL")
        .env_remove("ELASTIC_PASSWORD")
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "setup.sh: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let template = es.get("/_index_template/mercato-logs").await;
    assert_eq!(
        template["index_templates"][0]["index_template"]["index_patterns"],
        json!(["logs-mercato-*"])
    );

    let nats = NatsServer::start();
    let etcd = EtcdServer::start().await;
    let traefik = Traefik::start(&etcd.url()).await;
    let data = tempfile::tempdir().unwrap();
    let prefix = format!("t{}_", uuid::Uuid::new_v4().simple());
    let env = Env {
        data: data.path(),
        prefix: &prefix,
        nats: nats.url(),
        etcd: etcd.url(),
        gateway: traefik.base.clone(),
        // Info lines, as a shop runs by default.
        extra: vec![("MERCATO__TELEMETRY__FILTER".into(), "info,sqlx=warn".into())],
    };
    let mut stack = Stack::start(&env).await;
    let files = format!("{}/*.log", data.path().display());
    let conf = deploy().join("rsyslog/mercato.conf");
    let work = tempfile::tempdir().unwrap();
    let mut rsyslog = Rsyslog::start(work.path(), &conf, &files, &es.base);
    wait_routes(&traefik.base, Duration::from_secs(30)).await;
    let local = testkit::spawn_targets(Backend::Postgres, &[Target::Users], |_| {}).await;
    let gw = local.pointed_at(&traefik.base);

    // A checkout, every request in the client's trace.
    let variants = product(&gw, "logged", &[(1500, 50)]).await;
    let (traced, trace) = gw.in_new_trace();
    let buyer = traced.register("logged").await;
    let token = Some(buyer.access.as_str());
    let cart = cart_with(&traced, token, &[(&variants[0], 2)]).await;
    let placed = place(&traced, token, &cart, None, Some("logged-1")).await;
    placed.expect(201);
    let request_id = placed.headers["x-request-id"].to_str().unwrap().to_owned();
    let order = placed.body["id"].as_str().unwrap().to_owned();
    wait_status(&traced, &order, token, "awaiting_payment").await;
    pay(&traced, &order, token, "4242424242424242")
        .await
        .expect(200);
    wait_status(&traced, &order, token, "paid").await;

    // A failure: the cart service goes away, and orders cannot check out
    // a cart made before (503, logged by orders).
    let other = cart_with(&gw, token, &[(&variants[0], 1)]).await;
    stack.stop_one(Target::Cart);
    let started = Instant::now();
    loop {
        let reply = place(&gw, token, &other, None, Some("logged-2")).await;
        if reply.status == 503 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "placing without a cart service: {} {}",
            reply.status,
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stack.stop();

    // Every line written is stored, once.
    let lines = written_lines(data.path());
    wait_stored(&es, lines.len() as u64).await;

    // The field types are the template's, and values kept their JSON type.
    let mapping = es.get(&format!("/{STREAM}/_mapping")).await;
    let properties = &mapping[STREAM]["mappings"]["properties"];
    assert_eq!(properties["@timestamp"]["type"], "date");
    assert_eq!(
        properties["http"]["properties"]["response"]["properties"]["status_code"]["type"],
        "long"
    );
    assert_eq!(properties["trace"]["properties"]["id"]["type"], "keyword");
    assert_eq!(
        properties["event"]["properties"]["duration"]["type"],
        "long"
    );

    // "One checkout by trace.id": exactly the trace's lines, from every
    // service the checkout went through.
    let by_trace = found(&es, &saved_query("mercato-one-checkout", &trace)).await;
    let expected = per_service(lines.iter().filter(|l| l["trace.id"] == trace.as_str()));
    assert_eq!(per_service(by_trace.iter()), expected);
    for service in ["users", "cart", "orders", "payments"] {
        assert!(
            expected.contains_key(service),
            "no {service} line in the checkout's trace: {expected:?}"
        );
    }

    // "One request by http.request.id": the order's placing, its lines.
    let by_request = found(&es, &saved_query("mercato-one-request", &request_id)).await;
    let expected = per_service(
        lines
            .iter()
            .filter(|l| l["http.request.id"] == request_id.as_str()),
    );
    assert_eq!(per_service(by_request.iter()), expected);
    assert!(
        by_request
            .iter()
            .any(|l| l["service.name"] == "orders" && l["http.response.status_code"] == 201),
        "the request's own completion line: {by_request:?}"
    );

    // "Errors by service": the saved search's own query, aggregated.
    let errors = query_of(&kibana_objects()["mercato-errors-by-service"]);
    let answer = es
        .search(
            STREAM,
            &json!({
                "size": 100,
                "query": {"query_string": {"query": errors}},
                "aggs": {"services": {"terms": {"field": "service.name", "size": 20}}}
            }),
        )
        .await;
    let buckets: BTreeMap<String, u64> = answer["aggregations"]["services"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_owned(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(buckets, per_service(lines.iter().filter(|l| is_error(l))));
    assert!(
        buckets.get("orders").is_some_and(|n| *n >= 1),
        "{buckets:?}"
    );
    let unavailable = answer["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["_source"]["service.name"] == "orders")
        .unwrap();
    assert_eq!(
        unavailable["_source"]["http.response.status_code"],
        json!(503),
        "a status code is stored as a number"
    );

    // rsyslog forgets where it was (its state lost in a crash) and sends
    // every file again: the documents' ids make each resend a duplicate
    // Elasticsearch refuses, so nothing is stored twice.
    rsyslog.stop();
    for entry in std::fs::read_dir(Rsyslog::state_dir(work.path())).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("imfile-state"))
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    let mut rsyslog = Rsyslog::start(work.path(), &conf, &files, &es.base);
    // A line after the resend in every file: once all have arrived, every
    // file was sent again to its end.
    let marker = uuid::Uuid::new_v4().simple().to_string();
    for target in Target::SERVICES {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(data.path().join(format!("{target}.log")))
            .unwrap();
        writeln!(
            file,
            "{}",
            json!({"@timestamp": "2026-12-02T00:00:00Z", "log.level": "info",
                   "service.name": target.name(), "message": format!("marker {marker}")})
        )
        .unwrap();
    }
    let started = Instant::now();
    while found(&es, &format!("message:{marker}")).await.len() < Target::SERVICES.len() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the files were not sent again"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        stored(&es).await,
        (lines.len() + Target::SERVICES.len()) as u64
    );
    rsyslog.stop();
}
