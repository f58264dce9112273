"""Root fields: which subgraph serves each, and the walk started below each.

A query's root fields share one fetch per subgraph; a mutation's root fields run one
after the other, so each subgraph change starts a new section (a serial step). A root
field several subgraphs serve goes to the one the cost model ranks first; when the walk
below it fails there, :class:`~gateway.planner.errors.RootFieldFailed` lets the planner
try again without that subgraph.
"""

from __future__ import annotations

from typing import NamedTuple

from gateway.planner.cost import CostModel
from gateway.planner.errors import PlanningError, RootFieldFailed
from gateway.planner.groups import FetchGroup
from gateway.planner.operation import Condition, NormalizedOperation, OpField, OpFragment, OpSelection
from gateway.planner.position import Position
from gateway.planner.walk import Walk
from gateway.supergraph.model import Supergraph

_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


class RootField(NamedTuple):
    """A root field to plan, and what the fragments it sits in add: their printed directives
    (outermost first), their @skip/@include conditions and the variables those use."""

    field: OpField
    wrappers: tuple[str, ...]
    conditions: frozenset[Condition] = frozenset()
    variables: frozenset[str] = frozenset()


def root_fields(sg: Supergraph, sels: list[OpSelection], root: str, wrappers: tuple[str, ...] = (),
                conds: frozenset[Condition] = frozenset(), used: frozenset[str] = frozenset()
                ) -> list[RootField]:
    """The root fields subgraphs answer (introspection and ``__typename`` are the gateway's);
    ``wrappers``, ``conds`` and ``used`` are those of the enclosing fragments."""
    out: list[RootField] = []
    for s in sels:
        if isinstance(s, OpFragment):
            if not sg.applies(s.type_condition, root):
                continue
            out.extend(root_fields(sg, s.selections, root, wrappers + ((s.directives,) if s.directives else ()),
                                   conds | frozenset(s.conditions), used | s.variables))
        elif s.name == "__typename" or s.name in _INTROSPECTION_ROOTS:
            continue  # answered by the gateway itself
        else:
            out.append(RootField(s, wrappers, conds, used))
    return out


def plan_fetch_groups(sg: Supergraph, op: NormalizedOperation, cost: CostModel,
                      excluded: dict[int, set[str]]) -> list[list[FetchGroup]]:
    """The fetch groups of ``op``, by section (one for a query; the serial steps of a mutation)."""
    root = {"query": sg.query_type, "mutation": sg.mutation_type, "subscription": sg.subscription_type}[op.kind]
    if root is None:
        raise PlanningError(f"the schema has no {op.kind} root type")
    walk = Walk(sg=sg, op=op, cost=cost, excluded=excluded)
    groups = walk.groups
    if op.kind == "mutation":
        sections: list[FetchGroup] = []
        for index, rf in enumerate(root_fields(sg, op.selections, root)):
            groups.section = len(sections)
            graph = _choose_root_graph(walk, root, rf.field, sections[-1].subgraph if sections else None, index)
            if sections and sections[-1].subgraph == graph:
                group = sections[-1]
                groups.section = group.section
            else:
                group = groups.new(graph, (), is_entity=False)
                sections.append(group)
            _plan_root_checked(walk, group, root, rf, index)
        return [[g for g in groups.groups if g.section == first.section] for first in sections]
    for index, rf in enumerate(root_fields(sg, op.selections, root)):
        graph = _choose_root_graph(walk, root, rf.field, None, index)
        existing = groups.root_groups.get(graph)
        group = existing if existing is not None else groups.new(graph, (), is_entity=False)
        groups.root_groups[graph] = group
        _plan_root_checked(walk, group, root, rf, index)
    return [groups.groups]


def _choose_root_graph(walk: Walk, root: str, f: OpField, prefer: str | None, index: int) -> str:
    cands = walk.sg.resolving_graphs(root, f.name)
    if not cands:
        raise PlanningError(f"no subgraph resolves {root}.{f.name}")
    tried = walk.excluded.get(index, set())
    cands = [c for c in cands if c not in tried]
    if not cands:
        raise PlanningError(f"no subgraph can resolve the selection of {root}.{f.name}")
    if len(cands) == 1:
        return cands[0]
    return min(cands, key=lambda g: walk.cost.root_cost(
        g, root, f, fetch_exists=g in walk.groups.root_groups or g == prefer))


def _plan_root_checked(walk: Walk, group: FetchGroup, root: str, rf: RootField, index: int) -> None:
    try:
        selset = group.selset
        for w in rf.wrappers:
            selset = selset.add_fragment(None, w)
        group.root_fields.append(rf.field.response_name)
        # the fragment's directives are printed around the field, so the subgraph request
        # declares their variables; their conditions hold for everything below
        group.variables |= rf.variables
        pos = Position(group=group, selset=selset, type=root, path=(), conds=rf.conditions)
        if not rf.wrappers:
            pos.anchor = pos
        walk.plan_field(pos, rf.field)
    except PlanningError as exc:
        if len(walk.sg.resolving_graphs(root, rf.field.name)) > 1:
            raise RootFieldFailed(index, group.subgraph, exc) from exc
        raise
