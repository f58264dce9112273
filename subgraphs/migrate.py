"""``python -m subgraphs.migrate NAME (upgrade|revision -m MSG)``: run a subgraph's migrations."""

from __future__ import annotations

import argparse
import sys

from subgraphs.common.migrations import autogenerate, upgrade
from subgraphs.common.settings import SERVICE_NAMES, Settings
from subgraphs.registry import load_definition


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the Alembic command for one subgraph (or ``all`` for upgrade)."""
    parser = argparse.ArgumentParser(prog="python -m subgraphs.migrate")
    parser.add_argument("service", choices=[*SERVICE_NAMES, "all"])
    parser.add_argument("action", choices=["upgrade", "revision"])
    parser.add_argument("-m", "--message", default="change")
    args = parser.parse_args(argv)
    names = SERVICE_NAMES if args.service == "all" else (args.service,)
    for name in names:
        definition = load_definition(name)
        url = Settings.from_env(name).database_url
        if args.action == "upgrade":
            upgrade(definition, url)
        else:
            autogenerate(definition, url, args.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
