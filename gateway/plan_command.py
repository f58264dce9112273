"""``gateway plan``: print the query plan of an operation against a supergraph file."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from gateway.supergraph import SupergraphError


def run_plan(supergraph_path: str, query_file: str, variables_json: str | None, operation_name: str | None) -> int:
    """Print the plan; returns the process exit code (0 ok, 1 invalid operation, 2 bad input)."""
    from gateway.runtime import Gateway

    try:
        sdl = Path(supergraph_path).read_text(encoding="utf-8")
        query = Path(query_file).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if variables_json:
        try:
            variables = orjson.loads(variables_json)
        except orjson.JSONDecodeError as exc:
            print(f"error: --variables is not JSON: {exc}", file=sys.stderr)
            return 2
        if not isinstance(variables, dict):
            print("error: --variables must be a JSON object", file=sys.stderr)
            return 2
    try:
        gateway = Gateway.from_supergraph_sdl(sdl)
    except SupergraphError as exc:
        print(f"error: invalid supergraph: {exc}", file=sys.stderr)
        return 2
    prepared = gateway.prepare(query, operation_name)
    if prepared.errors:
        for err in prepared.errors:
            print(f"error: {err['message']}", file=sys.stderr)
        return 1
    if prepared.has_defer:  # the Defer { Primary, [Deferred] } plan for these @defer(if:) values
        print(gateway.deferred_plan_text(query, variables if variables_json else None, operation_name))
        return 0
    print(prepared.plan_text)
    return 0
