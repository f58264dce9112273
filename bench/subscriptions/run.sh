#!/usr/bin/env bash
# make bench-subscriptions: WebSocket subscriptions through the Python gateway and Hive Gateway
# (Node 22), same stand-in subgraphs, same load. Installs Hive Gateway and Node 22 (the `node`
# npm package) into bench/subscriptions/node_modules first. Knobs: see bench/subscriptions/run.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"
B=bench/subscriptions
if [ ! -x $B/node_modules/.bin/node ] || [ ! -d $B/node_modules/@graphql-hive/gateway ] \
   || [ $B/package.json -nt $B/node_modules/.package-lock.json ]; then
  echo "bench-subscriptions: installing Hive Gateway and Node 22 into $B/node_modules" >&2
  (cd $B && npm ci --no-audit --no-fund --loglevel=error)
fi
# 10,000 WebSocket subscribers need file descriptors on both ends
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec "$PY" $B/run.py "$@"
