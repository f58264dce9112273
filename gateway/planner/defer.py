"""Planning ``@defer``: the primary fetches nothing deferred, each deferred fragment is a block.

Learned from Apollo's query planner (a ``DeferNode`` with a primary and deferred blocks that
name what they depend on), written our own way on top of the ordinary planner:

1. :class:`_Splitter` walks the normalised operation and takes every active ``@defer`` fragment
   out of the selections that hold it. Each becomes a :class:`DeferBlock` *anchored* where
   another fetch can start from: the deferred object itself when it is an entity, else the
   nearest entity above it, else the root (queries only). The anchor's ``__typename`` and
   key fields are added, as helper fields, to the selections of the block that holds the
   anchor object, so the primary (or the enclosing deferred block) fetches them.
2. The primary selections are planned as any operation. A block anchored at the root is an
   operation of its own (the fields from the root down to the fragment, then the fragment);
   a block anchored at an entity is walked from an ``_entities`` fetch at the anchor's path
   in the subgraph that resolves most of the fragment (:func:`_plan_at_entity`), so its first
   fetch reads the representations from the data the primary brought.

``@defer(if: false)`` (literal or variable) is an ordinary inline fragment: the plan depends on
those variables, so the caller keys its cache by :func:`defer_key`. Blocks nested in deferred
fragments depend on the enclosing block (delivered first, as the incremental delivery RFC asks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.planner.arrange import arrange
from gateway.planner.fetches import fetch_node
from gateway.planner.groups import finished
from gateway.planner.nodes import (
    TYPE_FILTER,
    DeferNode,
    DeferredNode,
    FragItem,
    PlanNode,
    Representation,
    SelSet,
    SubscriptionNode,
)
from gateway.planner.operation import (
    DeferDirective,
    NormalizedOperation,
    OpField,
    OpFragment,
    OpSelection,
    fieldset_selections,
)
from gateway.planner.planner import QueryPlanner
from gateway.planner.position import Position, base_type, client_names, typename_field
from gateway.planner.walk import Walk
from gateway.supergraph.model import Supergraph

__all__ = ["DeferBlock", "DeferPlan", "defer_key", "has_defer", "plan_deferred", "without_helpers"]


def _defers(op: NormalizedOperation) -> list[DeferDirective]:
    """Every ``@defer`` of ``op``; each selection list is visited once (a named fragment's list is
    shared by all its spreads), so the work is linear in the document."""
    found: list[DeferDirective] = []
    seen: set[int] = set()
    stack: list[list[OpSelection]] = [op.selections]
    while stack:
        sels = stack.pop()
        if id(sels) in seen:
            continue
        seen.add(id(sels))
        for s in sels:
            if isinstance(s, OpFragment) and s.defer is not None:
                found.append(s.defer)
            if s.selections:
                stack.append(s.selections)
    return found


def has_defer(op: NormalizedOperation) -> bool:
    """Whether any fragment of ``op`` carries ``@defer`` (active or not)."""
    return bool(_defers(op))


def _defer_variables(op: NormalizedOperation) -> tuple[str, ...]:
    return tuple(sorted({d.condition for d in _defers(op) if isinstance(d.condition, str)}))


def defer_key(op: NormalizedOperation, variables: Mapping[str, Any]) -> tuple[tuple[str, bool], ...]:
    """What the deferred plan of ``op`` depends on among the request's variables (``@defer(if: $v)``)."""
    return tuple((name, bool(variables.get(name, True))) for name in _defer_variables(op))


def _active(d: DeferDirective, flags: Mapping[str, bool]) -> bool:
    return d.condition if isinstance(d.condition, bool) else flags.get(d.condition, True)


def without_helpers(sels: list[OpSelection]) -> list[OpSelection]:
    """``sels`` without the helper fields the splitter added (what the client is shown)."""
    out: list[OpSelection] = []
    for s in sels:
        if isinstance(s, OpField):
            if s.helper:
                continue
            out.append(replace(s, selections=without_helpers(s.selections)) if s.selections is not None else s)
        else:
            out.append(replace(s, selections=without_helpers(s.selections)))
    return out


@dataclass(frozen=True, slots=True)
class DeferBlock:
    """A deferred fragment, ready to run and to be delivered."""

    node: DeferredNode
    type: str  # the type of the objects at the block's path (abstract: their __typename decides)
    shape: list[OpSelection]  # one fragment: what each incremental item shows (no helpers)


@dataclass(frozen=True, slots=True)
class DeferPlan:
    """The plan of an operation with active ``@defer``s, and how to shape each payload."""

    node: DeferNode
    primary: NormalizedOperation  # the client's selections minus the deferred ones (shapes the first payload)
    blocks: tuple[DeferBlock, ...]


@dataclass(slots=True)
class _Anchor:
    """Where a deferred block's fetches can start: the root (``type`` None) or entity objects."""

    path: tuple[str, ...]
    type: str | None = None
    sels: list[OpSelection] | None = None  # the selections (of the holding block) that get its keys
    keyed: dict[str, Any] = field(default_factory=dict)  # subgraph -> key chosen (added once)


@dataclass(frozen=True, slots=True)
class _Step:
    """A field, or a fragment (a type narrowing, or @skip/@include), from an anchor down to a
    deferred fragment."""

    field: OpField | None
    type_condition: str | None = None
    fragment: OpFragment | None = None  # its directives and conditions go along


@dataclass(slots=True)
class _Found:
    """A deferred fragment taken out, not yet planned."""

    id: int
    label: str | None
    depends: int | None
    path: tuple[str, ...]
    type: str
    anchor: _Anchor
    chain: tuple[_Step, ...]
    fragment: OpFragment  # the deferred fragment with its own nested defers taken out
    graph: str = ""  # entity anchors: the subgraph the first deferred fetch enters


@dataclass(slots=True)
class _Context:
    """Where the splitter is: its type, path (planner form), block, anchor and the way from it."""

    type: str
    path: tuple[str, ...]
    block: int | None
    anchor: _Anchor
    chain: tuple[_Step, ...] = ()
    type_filter: str | None = None


class _Splitter:
    def __init__(self, sg: Supergraph, op: NormalizedOperation, flags: Mapping[str, bool]) -> None:
        self.sg = sg
        self.op = op
        self.flags = flags
        self.found: list[_Found] = []

    def is_entity(self, type_name: str) -> bool:
        return self.sg.kind(type_name) == "object" and any(
            self.sg.resolvable_keys(type_name, g) for g in self.sg.subgraphs
        )

    def split(self, sels: list[OpSelection], ctx: _Context) -> list[OpSelection]:
        out: list[OpSelection] = []
        for s in sels:
            if isinstance(s, OpField):
                out.append(self._field(s, ctx))
                continue
            if s.defer is not None and _active(s.defer, self.flags) and self._defer(s, ctx, out):
                continue
            cond = s.type_condition
            sub = ctx
            if cond is not None and cond != ctx.type:
                narrowing = self.sg.kind(cond) == "object"
                sub = replace(ctx, type=cond, chain=(*ctx.chain, _Step(None, cond, s)),
                              type_filter=cond if narrowing else ctx.type_filter)
            elif s.conditions:
                sub = replace(ctx, chain=(*ctx.chain, _Step(None, None, s)))
            frag = OpFragment(type_condition=cond, selections=[], directives=s.directives,
                              conditions=s.conditions, variables=s.variables)
            if sub is not ctx and self.is_entity(sub.type):
                sub = replace(sub, anchor=_Anchor(ctx.path, sub.type, frag.selections), chain=())
            frag.selections.extend(self.split(s.selections, sub))
            out.append(frag)
        return out

    def _field(self, f: OpField, ctx: _Context) -> OpField:
        if not f.selections:
            return f
        fd = self.sg.field_def(ctx.type, f.name)
        if fd is None:
            return f
        sub_type = base_type(fd.type)
        path = ctx.path + ((TYPE_FILTER + ctx.type_filter,) if ctx.type_filter else ()) + (f.response_name,)
        path += ("@",) * fd.type.count("[")
        new = replace(f, selections=[])
        sub = _Context(sub_type, path, ctx.block, ctx.anchor, (*ctx.chain, _Step(f)))
        if self.is_entity(sub_type):
            sub.anchor, sub.chain = _Anchor(path, sub_type, new.selections), ()
        assert new.selections is not None
        new.selections.extend(self.split(f.selections, sub))
        return new

    def _defer(self, s: OpFragment, ctx: _Context, out: list[OpSelection]) -> bool:
        """Take ``s`` out as a deferred block; False when it cannot be (it stays inline)."""
        frag_type = s.type_condition or ctx.type
        chain = ctx.chain + ((_Step(None, frag_type),) if frag_type != ctx.type else ())
        anchor = ctx.anchor
        if self.is_entity(frag_type):
            anchor, chain = _Anchor(ctx.path, frag_type, out), ()
        if anchor.type is None and self.op.kind != "query":
            return False  # re-asking a mutation's root field would run it again
        block = len(self.found) + 1
        inner = _Context(frag_type, ctx.path, block, anchor, chain,
                         frag_type if frag_type != ctx.type and self.sg.kind(frag_type) == "object"
                         else ctx.type_filter)
        found = _Found(id=block, label=s.defer.label if s.defer else None, depends=ctx.block,
                       path=ctx.path + ((TYPE_FILTER + ctx.type_filter,) if ctx.type_filter else ()),
                       type=ctx.type, anchor=anchor, chain=chain,
                       fragment=OpFragment(type_condition=s.type_condition, selections=[],
                                           directives=s.directives, conditions=s.conditions, variables=s.variables))
        self.found.append(found)
        found.fragment.selections.extend(self.split(s.selections, inner))
        if anchor.type is not None:
            found.graph = self._add_keys(anchor, _wrap(chain, found.fragment))
        return True

    def _add_keys(self, anchor: _Anchor, sels: list[OpSelection]) -> str:
        """Make the block holding the anchor fetch ``__typename`` and the key the deferred fetch
        uses; returns the subgraph that fetch enters."""
        assert anchor.type is not None and anchor.sels is not None
        graph = self.entry_graph(anchor.type, sels)
        if graph in anchor.keyed:
            return graph
        key = self.sg.resolvable_keys(anchor.type, graph)[0]
        anchor.keyed[graph] = key
        anchor.sels.append(OpFragment(type_condition=anchor.type,
                                      selections=[typename_field(), *fieldset_selections(key.selection)]))
        return graph

    def entry_graph(self, type_name: str, sels: list[OpSelection]) -> str:
        """The subgraph a deferred fetch of ``type_name`` objects enters: the one with a key that
        resolves most of the fragment's own fields (ties: declaration order)."""
        names = _top_fields(sels, type_name)
        best: tuple[int, int] | None = None
        chosen = ""
        for g in self.sg.subgraphs:
            if not self.sg.resolvable_keys(type_name, g):
                continue
            score = (sum(1 for n in names if self.sg.can_resolve(type_name, n, g)), -self.sg.graph_order.get(g, 0))
            if best is None or score > best:
                best, chosen = score, g
        return chosen


def _top_fields(sels: list[OpSelection], type_name: str) -> list[str]:
    out: list[str] = []
    for s in sels:
        if isinstance(s, OpField):
            if not s.helper and s.name != "__typename":
                out.append(s.name)
        elif s.type_condition in (None, type_name):
            out.extend(_top_fields(s.selections, type_name))
    return out


def _wrap(chain: tuple[_Step, ...], inner: OpSelection) -> list[OpSelection]:
    """``inner`` below the fields and narrowings of ``chain`` (outermost first)."""
    sel = inner
    for step in reversed(chain):
        if step.field is not None:
            sel = replace(step.field, selections=[sel])
        elif step.fragment is not None:
            sel = replace(step.fragment, selections=[sel], defer=None)
        else:
            sel = OpFragment(type_condition=step.type_condition, selections=[sel])
    return [sel]


def plan_deferred(planner: QueryPlanner, op: NormalizedOperation, flags: Mapping[str, bool]) -> DeferPlan | None:
    """The deferred plan of ``op`` for the ``@defer(if:)`` values ``flags`` (``None``: nothing to
    defer, the ordinary plan serves). Raises :class:`PlanningError` like the planner."""
    sg = planner.sg
    root = {"query": sg.query_type, "mutation": sg.mutation_type}.get(op.kind)
    if root is None:
        return None
    splitter = _Splitter(sg, op, flags)
    primary_sels = splitter.split(op.selections, _Context(root, (), None, _Anchor(())))
    if not splitter.found:
        return None
    primary = replace(op, selections=primary_sels)
    blocks: list[DeferBlock] = []
    for found in splitter.found:
        sels = _wrap(found.chain, found.fragment)
        if found.anchor.type is None:
            node = planner.plan(NormalizedOperation(kind="query", name=op.name, selections=sels,
                                                    variables=op.variables))
        else:
            node = _plan_at_entity(planner, op, found, sels)
        assert not isinstance(node, SubscriptionNode)
        deferred = DeferredNode(id=found.id, label=found.label, depends=found.depends, path=found.path, node=node)
        blocks.append(DeferBlock(node=deferred, type=found.type, shape=without_helpers([found.fragment])))
    primary_node = planner.plan(primary)
    assert not isinstance(primary_node, SubscriptionNode)
    shown = replace(op, selections=without_helpers(primary_sels))
    return DeferPlan(node=DeferNode(primary=primary_node, deferred=tuple(b.node for b in blocks)),
                     primary=shown, blocks=tuple(blocks))


def _plan_at_entity(planner: QueryPlanner, op: NormalizedOperation, found: _Found,
                    sels: list[OpSelection]) -> PlanNode | None:
    """Plan ``sels`` on the entity objects at the anchor: an ``_entities`` fetch there first."""
    sg, anchor, graph = planner.sg, found.anchor, found.graph
    assert anchor.type is not None and anchor.sels is not None
    key = anchor.keyed[graph]
    query = NormalizedOperation(kind="query", name=op.name, selections=sels, variables=op.variables)
    walk = Walk(sg=sg, op=query, cost=planner.cost)
    group = walk.groups.new(graph, anchor.path, is_entity=True)
    key_sels = fieldset_selections(key.selection)
    rep = Representation(typename=anchor.type, selection=SelSet())
    names: dict[str, Any] = {}
    client_names(without_helpers(anchor.sels), names)
    walk.jumps.add_fieldset(rep.selection, key_sels, anchor.type, names)
    group.reps[anchor.type] = rep
    group.rep_keys[anchor.type] = key.fields
    pos = Position(group=group, selset=group.selset.add_fragment(anchor.type), type=anchor.type, path=anchor.path,
                   entry_key=frozenset(s.name for s in key_sels if isinstance(s, OpField) and not s.selections))
    pos.anchor = pos
    walk.plan_sels(pos, sels)
    keys = frozenset({"__typename", *pos.entry_key})
    for g in walk.groups.groups:
        # a fetch on the anchor's own objects that reads only the keys the primary brought
        # starts beside the entry fetch (deeper fetches wait: their objects come from it)
        if (group in g.deps and g.is_entity and g.path == anchor.path
                and all(_holds_only(rep.selection, keys) for rep in g.reps.values())):
            g.deps.discard(group)
    if _holds_only(group.selset, keys):
        # the entry fetch would only ask for the keys the data already holds: not sent
        group.selset = SelSet()
    groups = finished(walk.groups.groups)
    if not groups:
        return None
    return arrange(groups, lambda g: fetch_node(g, query))


def _holds_only(selset: SelSet, names: frozenset[str]) -> bool:
    """Whether every field of ``selset`` (through its fragments) is a leaf named in ``names``."""
    for item in selset.items.values():
        if isinstance(item, FragItem):
            if not _holds_only(item.sub, names):
                return False
        elif item.sub is not None or item.name not in names or item.args or item.alias:
            return False
    return True
