#!/usr/bin/env bash
# make bench: the Python gateway against Apollo Gateway (Node 22) on the same fast
# subgraphs and the same heavy query, driven by wrk. Installs what it needs first:
# wrk from Debian, and Apollo Gateway plus Node 22 (the `node` npm package) into
# bench/node_modules. Knobs: BENCH_DURATION (s), BENCH_CONNECTIONS, BENCH_THREADS, BENCH_ROUNDS.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get install -y -q wrk >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q wrk >/dev/null; }
fi

bash scripts/install-apollo-gateway.sh

exec "$PY" bench/run.py "$@"
