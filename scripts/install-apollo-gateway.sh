#!/usr/bin/env bash
# Apollo Gateway 2.14.4 and Node 22 (the `node` npm package) into bench/node_modules, from the npm
# registry, pinned by bench/package-lock.json: make bench compares against it and make test runs the
# differential suite (tests/gateway_core/test_differential_fuzz.py) against it. A no-op when present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x bench/node_modules/.bin/node ] || [ ! -d bench/node_modules/@apollo/gateway ] \
   || [ bench/package.json -nt bench/node_modules/.package-lock.json ]; then
  if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    echo "installing npm (Debian)" >&2
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
  fi
  echo "installing Apollo Gateway and Node 22 into bench/node_modules" >&2
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi
