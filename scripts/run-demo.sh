#!/usr/bin/env bash
# Starts a SepAgent sink on 127.0.0.1:5555 and the daemon with examples/sepagent.toml.
# Ctrl-C stops both (the daemon runs its final flush first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

node dist/main.js sink --host 127.0.0.1 --port 5555 &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT

cat >&2 <<'MSG'
-----------------------------------------------------------------------------------------
statsd-sepagent demo: daemon on udp 127.0.0.1:8125, SepAgent sink on udp 127.0.0.1:5555,
self-metrics on http://127.0.0.1:8181/metrics. In another terminal, try:

  echo "envoy.cluster.external_cluster_sep1.upstream_rq_total:1|c" | nc -u -w1 127.0.0.1 8125

The stdout backend prints the aggregate and the sink prints the SepAgent document at the
next flush (every 2 s). Ctrl-C to stop.
-----------------------------------------------------------------------------------------
MSG
node --max-semi-space-size=4 dist/main.js --config-path examples/sepagent.toml --log-format text
