#!/usr/bin/env bash
# Installs the real servers the tests run against, from Debian, when they are missing:
# prometheus (with promtool), victoria-metrics, graphite-carbon (carbon-cache) with
# python3-whisper, openssl, kubectl (kubernetes-client: pod fixtures for the injector) and
# chromium (headless: the status page is tested in a real browser).
# Needs root (or sudo) and the Debian mirror.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl) # test certificates for TLS forwarding
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
command -v carbon-cache >/dev/null 2>&1 || missing+=(graphite-carbon)
command -v whisper-fetch >/dev/null 2>&1 || missing+=(python3-whisper)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client) # kubectl create --dry-run=client
command -v chromium >/dev/null 2>&1 || missing+=(chromium) # the status page, in headless chromium
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing test peers from Debian: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
