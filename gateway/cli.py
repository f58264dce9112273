"""The ``gateway`` console script.

Each sub-command's work lives in the module named for it; this file only parses
arguments and dispatches, so that importing the CLI stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Apollo Federation v2 tooling in Python")
    sub = parser.add_subparsers(dest="command", required=True)

    compose = sub.add_parser("compose", help="compose subgraph schemas into a supergraph")
    compose.add_argument("config", help="JSON list of {name,url,sdl} or a supergraph.yaml")
    compose.add_argument("output", nargs="?", help="where to write the supergraph")
    compose.add_argument("-o", "--output", dest="output_opt", help="where to write the supergraph")

    schema = sub.add_parser("schema", help="schema utilities")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    diff = schema_sub.add_parser("diff", help="classify changes between two supergraphs' API schemas")
    diff.add_argument("old")
    diff.add_argument("new")

    serve = sub.add_parser("serve", help="serve a supergraph over HTTP")
    serve.add_argument("--supergraph", help="supergraph SDL file")
    serve.add_argument("--config", help="YAML config file")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the port (default 1: one process)"
    )

    plan = sub.add_parser("plan", help="print the query plan of an operation")
    plan.add_argument("--supergraph", required=True)
    plan.add_argument("query_file")
    plan.add_argument("--variables", default=None, help="JSON object of variables")
    plan.add_argument("--operation-name", default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gateway`` console script."""
    args = _build_parser().parse_args(argv)
    if args.command == "compose":
        from gateway.composition.command import run_compose

        return run_compose(args.config, args.output_opt or args.output)
    if args.command == "schema":
        from gateway.composition.diff_command import run_diff

        return run_diff(args.old, args.new)
    if args.command == "serve":
        from gateway.serve import run_serve

        return run_serve(
            supergraph=args.supergraph, config=args.config, host=args.host, port=args.port, workers=args.workers
        )
    if args.command == "plan":
        from gateway.plan_command import run_plan

        return run_plan(args.supergraph, args.query_file, args.variables, args.operation_name)
    return 2


if __name__ == "__main__":
    sys.exit(main())
