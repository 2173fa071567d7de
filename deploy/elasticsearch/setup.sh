#!/usr/bin/env bash
# Prepares Elasticsearch (and Kibana) for Mercato's logs; safe to run again.
#   1. the lifecycle policy (deploy/elasticsearch/ilm-policy.json), where the
#      cluster has ILM;
#   2. the index template of the logs-mercato-* data streams
#      (index-template.json), before the first line arrives, so that fields
#      get their ECS types rather than guessed ones;
#   3. with security on: the kibana_system password and a shipper account
#      that may only append to logs-mercato-*;
#   4. with KIBANA_URL: the data view, saved searches and dashboard
#      (deploy/kibana/saved-objects.ndjson).
# Settings, from the environment:
#   ES_URL (http://elasticsearch:9200), ELASTIC_PASSWORD (empty: no auth),
#   KIBANA_SYSTEM_PASSWORD, LOGS_WRITER_PASSWORD, KIBANA_URL (empty: skip 4),
#   SETUP_TIMEOUT_SECS (180).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
es="${ES_URL:-http://elasticsearch:9200}"
kibana="${KIBANA_URL:-}"
timeout="${SETUP_TIMEOUT_SECS:-180}"
auth=()
if [ -n "${ELASTIC_PASSWORD:-}" ]; then
  auth=(-u "elastic:$ELASTIC_PASSWORD")
fi

# A request that must succeed: fails on 4xx/5xx; the body is left in $answer.
answer=
call() {
  local method=$1 url=$2
  shift 2
  local out status
  out=$(mktemp)
  status=$(curl -sS "${auth[@]}" -o "$out" -w '%{http_code}' -X "$method" "$url" "$@") || {
    rm -f "$out"
    echo "setup: $method $url did not answer" >&2
    return 1
  }
  if [ "$status" -ge 400 ]; then
    echo "setup: $method $url answered $status: $(cat "$out")" >&2
    rm -f "$out"
    return 1
  fi
  answer=$(cat "$out")
  rm -f "$out"
}

# The HTTP status of a GET (000 when nothing answers).
status_of() {
  curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' "$@" || true
}

wait_for() {
  local what=$1 url=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until [ "$(status_of "$@" "$url")" = 200 ]; do
    if [ $SECONDS -ge $deadline ]; then
      echo "setup: $what did not answer at $url within ${timeout}s" >&2
      return 1
    fi
    sleep 2
  done
}

json=(-H 'Content-Type: application/json')

wait_for Elasticsearch "$es/_cluster/health?wait_for_status=yellow&timeout=5s"

if [ "$(status_of "$es/_ilm/status")" = 200 ]; then
  call PUT "$es/_ilm/policy/mercato-logs" "${json[@]}" --data-binary "@$here/ilm-policy.json"
  echo "setup: lifecycle policy mercato-logs loaded"
else
  # OpenSearch (ISM) and Elastic's serverless projects have no ILM API; the
  # template's setting then names a policy nobody applies, and retention is
  # the operator's to set there.
  echo "setup: this cluster has no ILM API; lifecycle policy not loaded" >&2
fi

call PUT "$es/_index_template/mercato-logs" "${json[@]}" --data-binary "@$here/index-template.json"
echo "setup: index template mercato-logs loaded (data streams logs-mercato-*)"

if [ -n "${KIBANA_SYSTEM_PASSWORD:-}" ]; then
  call POST "$es/_security/user/kibana_system/_password" "${json[@]}" \
    -d "{\"password\": \"$KIBANA_SYSTEM_PASSWORD\"}"
  echo "setup: kibana_system password set"
fi
if [ -n "${LOGS_WRITER_PASSWORD:-}" ]; then
  call PUT "$es/_security/role/mercato_logs_writer" "${json[@]}" -d '{
    "cluster": ["monitor"],
    "indices": [{"names": ["logs-mercato-*"], "privileges": ["create_doc", "auto_configure"]}]
  }'
  call PUT "$es/_security/user/mercato_logs_writer" "${json[@]}" \
    -d "{\"password\": \"$LOGS_WRITER_PASSWORD\", \"roles\": [\"mercato_logs_writer\"]}"
  echo "setup: shipper account mercato_logs_writer ready"
fi

if [ -n "$kibana" ]; then
  wait_for Kibana "$kibana/api/status"
  call POST "$kibana/api/saved_objects/_import?overwrite=true" -H 'kbn-xsrf: mercato-setup' \
    --form "file=@$here/../kibana/saved-objects.ndjson"
  # Kibana answers 200 even when objects fail; the body says.
  case "$answer" in
    *'"success":true'*) ;;
    *) echo "setup: Kibana refused saved objects: $answer" >&2; exit 1 ;;
  esac
  echo "setup: Kibana data view, saved searches and dashboard imported"
fi
