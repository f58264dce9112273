"""Path walks: finding the objects a flatten node's fetch is for, with their response paths.

A flatten path is a tuple of segments: a response key, ``"@"`` (every item of a list)
or a type filter (``"|Book"``: only objects of that type, or of an abstract type it
belongs to, or whose concrete type is not known yet).

Two walks answer the same question; keep them equal (tests/gateway_core/test_flatten_walk.py):

- :func:`walk_recursive` is the reference: one call per value per segment, each object's
  path kept as a (parent, key) :data:`Link` chain. It also yields each object's chain
  of ancestors, which @fromContext values need, so fetches with a context use it.
- :func:`walk_levels` is the measured fast path: one loop per segment over a flat
  level, paths spelled out only when :meth:`FoundObjects.path` is asked (for errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.planner.nodes import TYPE_FILTER

LIST_ITEMS = "@"
"""The path segment that stands for every item of a list."""

NO_POSSIBLE: Mapping[str, frozenset[str]] = {}
"""No abstract types (a walk whose type filters only ever name object types)."""

SAME = object()
"""A level entry of :func:`walk_levels` that adds no path segment (a type filter keeps its object)."""

Link = tuple[Any, Any] | None
"""The path of an object found by :func:`walk_recursive`: ``(parent link, key)``, None at the root."""


def link_path(link: Link) -> list[Any]:
    """The response path a :data:`Link` chain stands for."""
    out: list[Any] = []
    while link is not None:
        link, key = link
        out.append(key)
    out.reverse()
    return out


def _keeps(value: dict[str, Any], typename: str, possible: Mapping[str, frozenset[str]]) -> bool:
    tn = value.get("__typename")
    return tn is None or tn == typename or typename in possible.get(tn, ())


def walk_recursive(
    value: Any,
    path: tuple[str, ...],
    i: int,
    cur: Link,
    out: list[tuple[dict[str, Any], Link]],
    anc: Any = None,
    ancestors: list[Any] | None = None,
    possible: Mapping[str, frozenset[str]] = NO_POSSIBLE,
) -> None:
    """Reference walk: append to ``out`` each object at ``path[i:]`` below ``value`` with its link.

    With ``ancestors``, also append the chain of objects above each (an ``(ancestor chain,
    object)`` link, the object itself first) for @fromContext values. A list the path does
    not spell out is walked anyway.
    """
    if value is None:
        return
    if i == len(path):
        if isinstance(value, dict):
            out.append((value, cur))
            if ancestors is not None:
                ancestors.append((anc, value))
        elif isinstance(value, list):
            for n, item in enumerate(value):
                walk_recursive(item, path, i, (cur, n), out, anc, ancestors, possible)
        return
    seg = path[i]
    if seg[:1] == TYPE_FILTER:
        if isinstance(value, dict):
            if _keeps(value, seg[1:], possible):
                walk_recursive(value, path, i + 1, cur, out, anc, ancestors, possible)
        elif isinstance(value, list):
            for n, item in enumerate(value):
                walk_recursive(item, path, i, (cur, n), out, anc, ancestors, possible)
        return
    if seg == LIST_ITEMS:
        if isinstance(value, list):
            for n, item in enumerate(value):
                walk_recursive(item, path, i + 1, (cur, n), out, anc, ancestors, possible)
        return
    if isinstance(value, dict):
        child = value.get(seg)
        if child is not None:
            walk_recursive(
                child,
                path,
                i + 1,
                (cur, seg),
                out,
                (anc, value) if ancestors is not None else None,
                ancestors,
                possible,
            )


class FoundObjects:
    """The objects at a flatten path, with what it takes to spell out any one's path.

    Paths are only needed for errors, so instead of a (parent, key) link per object per
    level, each level keeps two flat lists (parent index, key) and :meth:`path` walks
    them back on demand.
    """

    __slots__ = ("levels", "objects", "positions")

    def __init__(
        self, levels: list[tuple[list[int], list[Any]]], objects: list[dict[str, Any]], positions: list[int]
    ) -> None:
        self.levels = levels
        self.objects = objects
        self.positions = positions  # index of each object in the last level

    def path(self, n: int) -> list[Any]:
        """The response path of the ``n``-th object."""
        out: list[Any] = []
        j = self.positions[n]
        for parents, keys in reversed(self.levels):
            key = keys[j]
            if key is not SAME:
                out.append(key)
            j = parents[j]
        out.reverse()
        return out


def walk_levels(data: Any, path: tuple[str, ...], possible: Mapping[str, frozenset[str]]) -> FoundObjects | None:
    """Fast path: what :func:`walk_recursive` finds without ancestors, one path segment at a time.

    The recursive walk costs a call and a link per object per segment; a flatten path
    under a few lists reaches hundreds of objects, so this loops over each level instead.
    Levels keep document order (every value of a level expands in place), so the objects
    come out in the order the recursive walk finds them. None when a list stands where the
    path does not say ``"@"`` (the recursive walk expands those in place; plans do not make them).
    """
    values: list[Any] = [data] if data is not None else []
    levels: list[tuple[list[int], list[Any]]] = []
    for seg in path:
        nxt: list[Any] = []
        parents: list[int] = []
        keys: list[Any] = []
        add, add_parent, add_key = nxt.append, parents.append, keys.append
        if seg[:1] == TYPE_FILTER:
            typename = seg[1:]
            for j, value in enumerate(values):
                if isinstance(value, dict):
                    tn = value.get("__typename")
                    if tn is None or tn == typename or typename in possible.get(tn, ()):
                        add(value)
                        add_parent(j)
                        add_key(SAME)
                elif isinstance(value, list):
                    return None
        elif seg == LIST_ITEMS:
            for j, value in enumerate(values):
                if isinstance(value, list):
                    for n, item in enumerate(value):
                        if item is not None:  # a null is a dead end at any later step
                            add(item)
                            add_parent(j)
                            add_key(n)
        else:
            for j, value in enumerate(values):
                if isinstance(value, dict):
                    child = value.get(seg)
                    if child is not None:
                        add(child)
                        add_parent(j)
                        add_key(seg)
        levels.append((parents, keys))
        values = nxt
    objects: list[dict[str, Any]] = []
    positions: list[int] = []
    for j, value in enumerate(values):
        if isinstance(value, dict):
            objects.append(value)
            positions.append(j)
        elif isinstance(value, list):
            return None
    if not levels:  # an empty path: the root object itself
        levels.append(([0], [SAME]))
    return FoundObjects(levels, objects, positions)
