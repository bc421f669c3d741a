# syntax=docker/dockerfile:1
# statsd-sepagent container image: Node 24, production dependencies only, non-root, and
# nothing written at runtime (runs with a read-only root filesystem; the chart mounts an
# emptyDir at /tmp). Probes live in the Helm chart, so there is no HEALTHCHECK.
#
#   docker build -t statsd-sepagent:0.1.0 .
#   make image            # the same with buildah, where there is no Docker engine

ARG NODE_IMAGE=node:24-bookworm

# ---- build: compile TypeScript and the recvmmsg(2) receiver module --------------------
FROM ${NODE_IMAGE} AS build
# PEM certificates of a TLS-intercepting proxy between the build and the npm registry (a
# corporate proxy); empty, the default, for a direct connection. Build stage only.
ARG EXTRA_CA_CERT=""
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the devDependency "node" would download a second Node binary.
RUN if [ -n "$EXTRA_CA_CERT" ]; then printf '%s\n' "$EXTRA_CA_CERT" > /tmp/extra-ca.pem \
      && export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY native ./native
COPY scripts/build-native.mjs ./scripts/build-native.mjs
RUN npx tsc -p tsconfig.build.json \
 && node scripts/build-native.mjs --required \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime --------------------------------------------------------------------------
FROM ${NODE_IMAGE}-slim
ENV NODE_ENV=production
# Two malloc arenas instead of one per thread (~30 MB less RSS in the soak run), and a fixed
# mmap threshold so that large freed Buffers go back to the system instead of fragmenting
# the malloc heap (it stayed flat over 45 minutes instead of growing): docs/reliability.md.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
# A 4 MB young generation (semi-space) for a busy daemon; sidecars set NODE_OPTIONS to
# --max-semi-space-size=1 (the chart and the injector do): see docs/performance.md.
ENV NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY proto ./proto
COPY --from=build /src/build/udp_batch.node ./build/udp_batch.node
# A numeric non-root user (the "nonroot" uid of distroless images), so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8125/udp 8181/tcp
# Node runs as PID 1 and handles SIGTERM itself (final flush).
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--metrics-addr=127.0.0.1:8125", "--web-addr=:8181"]
