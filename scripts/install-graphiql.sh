#!/usr/bin/env bash
# make install: GraphiQL's browser bundle (the React 18 and GraphiQL 3 UMD builds) from the npm
# registry, pinned with integrity by web/graphiql/package-lock.json, into DEST (default
# .venv/share/graphiql, outside git), where the gateway finds it for GET /graphql in a browser
# (gateway/http/graphiql.py, setting graphiql_assets). npm comes from the machine (Debian's npm
# is installed when it is missing); nothing from the bundle runs at install time (--ignore-scripts).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-.venv/share/graphiql}"

if ! command -v npm >/dev/null 2>&1; then
  echo "graphiql: installing Debian's nodejs and npm" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
fi

mkdir -p "$DEST"
cp web/graphiql/package.json web/graphiql/package-lock.json "$DEST/"
(cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
for file in graphiql/graphiql.min.js graphiql/graphiql.min.css react/umd/react.production.min.js \
            react-dom/umd/react-dom.production.min.js; do
  test -s "$DEST/node_modules/$file" || { echo "graphiql: $file missing after npm ci" >&2; exit 1; }
done
