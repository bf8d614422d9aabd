#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages: PostgreSQL (the
# suite starts its own throw-away cluster), Chromium (browser tests) and
# Node.js (Mozilla's ical.js parser and axe-core), nginx and Redis (the deployment
# tests run the app behind the real proxy, with shared throttling). Quiet and
# quick when all is present.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing system packages: ${missing[*]} (this takes a few minutes the first time)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ical.js and axe-core, pinned by tests/js/package-lock.json.
if [ -f tests/js/package.json ] && { [ ! -d tests/js/node_modules/ical.js ] || [ ! -d tests/js/node_modules/axe-core ] || [ tests/js/package-lock.json -nt tests/js/node_modules/.package-lock.json ]; }; then
  echo "Installing ical.js and axe-core for the tests"
  (cd tests/js && npm ci --silent --no-audit --no-fund)
fi
