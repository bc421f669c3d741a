#!/usr/bin/env bash
# Installs the real servers the tests run against, from Debian, when they are missing:
# prometheus (with promtool) and openssl. Needs root (or sudo) and the Debian mirror.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl) # test certificates for TLS forwarding
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing test peers from Debian: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
