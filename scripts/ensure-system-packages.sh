#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real (PostgreSQL, Redis, Chromium) when
# they are missing. Needs root (or sudo) only when something is actually missing.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
# make bench and make bench-dpp drive the servers with wrk.
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# GraphiQL's browser test (tests/browser) drives Debian's Chromium headless.
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "installing system packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian packages start system-wide services; the tests start their own servers.
$SUDO service redis-server stop >/dev/null 2>&1 || true
$SUDO service postgresql stop >/dev/null 2>&1 || true
