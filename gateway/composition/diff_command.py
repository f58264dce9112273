"""``gateway schema diff OLD NEW``: exit 1 when the new supergraph breaks clients of the old one."""

from __future__ import annotations

import sys
from pathlib import Path

from graphql import GraphQLError

from gateway.supergraph import SupergraphError

from .diff import BREAKING, DANGEROUS, SAFE, diff_supergraphs


def run_diff(old_path: str, new_path: str) -> int:
    """Print every change between two supergraphs' API schemas; 1 on breaking changes, 2 on bad input."""
    try:
        old_sdl = Path(old_path).read_text(encoding="utf-8")
        new_sdl = Path(new_path).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        changes = diff_supergraphs(old_sdl, new_sdl)
    except (GraphQLError, TypeError, SupergraphError) as exc:
        print(f"error: not a valid supergraph: {exc}", file=sys.stderr)
        return 2
    for change in changes:
        print(change)
    counts = {level: sum(1 for c in changes if c.level == level) for level in (BREAKING, DANGEROUS, SAFE)}
    print(f"{counts[BREAKING]} breaking, {counts[DANGEROUS]} dangerous, {counts[SAFE]} safe")
    return 1 if counts[BREAKING] else 0
