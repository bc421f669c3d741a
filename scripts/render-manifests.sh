#!/usr/bin/env bash
# Renders the Helm chart with manifests/values.yaml into manifests/statsd-sepagent.yaml, for
# `kubectl apply` without Helm. --stdout prints instead of writing (the drift check in the
# tests uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/get-helm.sh >/dev/null
out=$(.tools/bin/helm template statsd-sepagent charts/statsd-sepagent \
  --namespace default --kube-version 1.30.0 -f manifests/values.yaml)
header="# Rendered from charts/statsd-sepagent with manifests/values.yaml by \`make manifests\`.
# Do not edit: change the chart or the values and re-render. Apply with:
#   kubectl apply -n default -f manifests/statsd-sepagent.yaml"
if [[ "${1:-}" == "--stdout" ]]; then
  printf '%s\n%s\n' "$header" "$out"
else
  printf '%s\n%s\n' "$header" "$out" > manifests/statsd-sepagent.yaml
  echo "wrote manifests/statsd-sepagent.yaml"
fi
