"""The operation without the selections a caller may not see.

The filtered operation is what gets planned, so no subgraph fetch carries a removed
field. It is never used to shape the response: the client's own operation does that,
so a removed field is answered as ``null`` (with normal null propagation) at its place.
"""

from __future__ import annotations

import dataclasses

from gateway.planner.operation import NormalizedOperation, OpField, OpFragment, OpSelection

__all__ = ["filter_operation"]


def _typename() -> OpField:
    return OpField(response_name="__typename", name="__typename")


def _prune(sels: list[OpSelection], removed: frozenset[int]) -> list[OpSelection] | None:
    """``sels`` without the removed selections, or None when nothing below changed."""
    out: list[OpSelection] = []
    changed = False
    for s in sels:
        if id(s) in removed:
            changed = True
            continue
        if s.selections:
            subs = _prune(s.selections, removed)
            if subs is not None:
                changed = True
                if not subs:
                    if isinstance(s, OpFragment):
                        continue  # nothing of the fragment is left: drop it
                    # the object is still answered (its removed fields as null): ask for
                    # its __typename so that it is fetched at all
                    subs = [_typename()]
                s = dataclasses.replace(s, selections=subs)
        out.append(s)
    return out if changed else None


def filter_operation(op: NormalizedOperation, removed: frozenset[int]) -> NormalizedOperation | None:
    """``op`` without the selections whose ``id`` is in ``removed``; None when nothing is left."""
    sels = _prune(op.selections, removed)
    if sels is None:
        return op
    if not sels:
        return None
    return dataclasses.replace(op, selections=sels)
