"""The ``gateway`` console script.

Each sub-command's work lives in the module named for it; this file only parses
arguments and dispatches, so that importing the CLI stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.composition.contracts import ContractFilter


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Apollo Federation v2 tooling in Python")
    sub = parser.add_subparsers(dest="command", required=True)

    compose = sub.add_parser("compose", help="compose subgraph schemas into a supergraph")
    compose.add_argument("config", help="JSON list of {name,url,sdl} or a supergraph.yaml")
    compose.add_argument("output", nargs="?", help="where to write the supergraph")
    compose.add_argument("-o", "--output", dest="output_opt", help="where to write the supergraph")
    _contract_arguments(compose)

    check = sub.add_parser(
        "check", help="compose and classify the changes against a running gateway or a supergraph file",
        description="Exit status: 0 safe (or only dangerous changes), 1 breaking changes, "
        "2 composition errors, 3 the config or the baseline cannot be read.",
    )
    check.add_argument("config", help="JSON list of {name,url,sdl} or a supergraph.yaml")
    against = check.add_mutually_exclusive_group(required=True)
    against.add_argument("--supergraph", help="the supergraph file now served")
    against.add_argument("--url", help="a running gateway's GraphQL endpoint (its schema.graphql or introspection)")
    check.add_argument("--header", action="append", default=[], help="'Name: value' sent with --url (repeatable)")
    _contract_arguments(check)

    config = sub.add_parser("config", help="check the gateway configuration; --print shows it with sources")
    config.add_argument("--config", help="YAML config file (default: GATEWAY_CONFIG)")
    config.add_argument("--supergraph", help="as gateway serve --supergraph")
    config.add_argument("--print", dest="print_", action="store_true",
                        help="print every setting, its value and where it came from (default, file, environment)")

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


def _contract_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--contract", metavar="NAME", help="filter the supergraph into this contract variant")
    parser.add_argument("--include", action="append", default=[], metavar="TAG",
                        help="keep only elements tagged TAG (repeatable, or comma separated)")
    parser.add_argument("--exclude", action="append", default=[], metavar="TAG",
                        help="hide elements tagged TAG (repeatable, or comma separated)")
    parser.add_argument("--keep-unreachable-types", action="store_true",
                        help="keep types no visible field reaches (hidden by default)")


def _contract(args: argparse.Namespace) -> tuple[str, ContractFilter] | None:
    from gateway.composition.contracts import ContractFilter

    if args.contract is None:
        if args.include or args.exclude:
            raise SystemExit("gateway: --include/--exclude need --contract NAME")
        return None

    def tags(values: list[str]) -> frozenset[str]:
        return frozenset(t.strip() for v in values for t in v.split(",") if t.strip())

    return args.contract, ContractFilter(tags(args.include), tags(args.exclude), not args.keep_unreachable_types)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gateway`` console script."""
    args = _build_parser().parse_args(argv)
    if args.command == "compose":
        from gateway.composition.command import run_compose

        return run_compose(args.config, args.output_opt or args.output, _contract(args))
    if args.command == "check":
        from gateway.check_command import run_check

        return run_check(args.config, supergraph=args.supergraph, url=args.url, headers=args.header,
                         contract=_contract(args))
    if args.command == "config":
        from gateway.config_command import run_config

        return run_config(args.config, supergraph=args.supergraph, print_=args.print_)
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
