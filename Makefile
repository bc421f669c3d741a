# statsd-sepagent: every target installs what it needs first (npm ci brings Node 24 too).
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
STAMP := node_modules/.package-lock.json

.PHONY: setup build test run lint bench clean

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

clean:
	rm -rf dist coverage
