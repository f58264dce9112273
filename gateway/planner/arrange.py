"""Arranging fetches into a plan tree: Sequence / Parallel nodes from dependencies alone.

Pure: it sees only each step's id and the steps it waits for, and asks the caller for
the node of one step, so it is tested without a supergraph (``tests/gateway_core/
test_plan_stages.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol, TypeVar

from gateway.planner.nodes import ParallelNode, PlanNode, SequenceNode


class Step(Protocol):
    """A fetch to arrange: an id (the order of creation) and the steps it waits for."""

    @property
    def id(self) -> int: ...

    @property
    def deps(self) -> Collection[Step]: ...


S = TypeVar("S", bound=Step)


def arrange(steps: Sequence[S], node_of: Callable[[S], PlanNode]) -> PlanNode:
    """Sequence/Parallel nodes for ``steps`` (non-empty, in id order, deps among themselves).

    Independent parts (no dependency between them) run in parallel; a part where each fetch
    waits for at most one other is a tree (most parallel and readable); otherwise the fetches
    nothing waits on go first and the rest is arranged again, so unrelated chains below a
    shared step still run side by side."""
    members = {s.id for s in steps}

    def deps(s: S) -> list[S]:
        return sorted((d for d in s.deps if d.id in members), key=lambda d: d.id)  # type: ignore[misc]

    parts = components(steps, deps)
    if len(parts) > 1:
        return ParallelNode(tuple(arrange(p, node_of) for p in parts))
    if all(len(deps(s)) <= 1 for s in steps):
        children: dict[int, list[S]] = {}
        tops: list[S] = []
        for s in steps:
            ds = deps(s)
            if ds:
                children.setdefault(ds[0].id, []).append(s)
            else:
                tops.append(s)

        def node(s: S) -> PlanNode:
            own = node_of(s)
            kids = children.get(s.id, [])
            if not kids:
                return own
            sub = [node(k) for k in kids]
            rest: PlanNode = sub[0] if len(sub) == 1 else ParallelNode(tuple(sub))
            return SequenceNode((own, *flatten_sequence(rest)))

        top = [node(s) for s in tops]
        return top[0] if len(top) == 1 else ParallelNode(tuple(top))
    first = [s for s in steps if not deps(s)]
    later = [s for s in steps if deps(s)]
    fetches = [node_of(s) for s in first]
    head: PlanNode = fetches[0] if len(fetches) == 1 else ParallelNode(tuple(fetches))
    return SequenceNode((head, *flatten_sequence(arrange(later, node_of))))


def in_sequence(parts: Sequence[PlanNode | None]) -> PlanNode | None:
    """Parts that must run one after the other (mutation sections), nested sequences flattened."""
    nodes = [n for part in parts if part is not None for n in flatten_sequence(part)]
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else SequenceNode(tuple(nodes))


def components(steps: Sequence[S], deps: Callable[[S], list[S]]) -> list[list[S]]:
    """``steps`` split into weakly connected parts by ``deps``, each in id order, parts by first id."""
    parent = {s.id: s.id for s in steps}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for s in steps:
        for d in deps(s):
            a, b = find(s.id), find(d.id)
            if a != b:
                parent[max(a, b)] = min(a, b)
    by_root: dict[int, list[S]] = {}
    for s in steps:
        by_root.setdefault(find(s.id), []).append(s)
    return [by_root[r] for r in sorted(by_root)]


def flatten_sequence(node: PlanNode) -> tuple[PlanNode, ...]:
    """The nodes of a sequence, or the node itself."""
    if isinstance(node, SequenceNode):
        return node.nodes
    return (node,)
