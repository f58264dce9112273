"""Query plan nodes and the selection sets sent to subgraphs.

A plan is a tree of :class:`SequenceNode`, :class:`ParallelNode`,
:class:`FlattenNode` and :class:`FetchNode`. Fetch nodes carry the subgraph
operation already printed, so that executing a cached plan prints nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class FieldItem:
    """A field in a subgraph selection set."""

    alias: str | None
    name: str
    args: str = ""
    directives: str = ""
    sub: SelSet | None = None
    type: str = ""  # the field's type in this subgraph (for response-shape conflicts)
    restore: str | None = None  # the response name the data must get back after an internal alias

    @property
    def response_name(self) -> str:
        return self.alias or self.name


@dataclass(slots=True)
class FragItem:
    """An inline fragment in a subgraph selection set."""

    type_condition: str | None
    directives: str
    sub: SelSet


@dataclass(slots=True)
class SelSet:
    """An ordered, de-duplicating selection set under construction (and then printed)."""

    items: dict[tuple[str, ...], FieldItem | FragItem] = field(default_factory=dict)
    # flattened form for the executor, built on first use once planning is over
    _compiled: tuple[tuple[Any, ...], ...] | None = field(default=None, repr=False, compare=False)

    def compiled(self) -> tuple[tuple[Any, ...], ...]:
        """``(True, data_key, name, sub)`` per field, ``(False, type_condition, None, sub)`` per fragment
        (one shape, so the executor unpacks every entry alike)."""
        c = self._compiled
        if c is None:
            c = self._compiled = tuple(
                (True, item.response_name, item.name, item.sub.compiled() if item.sub is not None else None)
                if isinstance(item, FieldItem)
                else (False, item.type_condition, None, item.sub.compiled())
                for item in self.items.values()
            )
        return c

    def add_field(self, response_name: str, name: str, args: str = "", directives: str = "",
                  composite: bool = False, type: str = "") -> SelSet | None:
        """Add (or find) a field; returns its sub-selection when composite."""
        key = ("f", response_name, name, args, directives)
        item = self.items.get(key)
        if item is None:
            item = FieldItem(
                alias=response_name if response_name != name else None,
                name=name,
                args=args,
                directives=directives,
                sub=SelSet() if composite else None,
                type=type,
            )
            self.items[key] = item
        assert isinstance(item, FieldItem)
        return item.sub

    def add_fragment(self, type_condition: str | None, directives: str = "") -> SelSet:
        """Add (or find) an inline fragment; returns its selection set."""
        key = ("i", type_condition or "", directives)
        item = self.items.get(key)
        if item is None:
            item = FragItem(type_condition=type_condition, directives=directives, sub=SelSet())
            self.items[key] = item
        assert isinstance(item, FragItem)
        return item.sub

    def is_empty(self) -> bool:
        """No field at all (fragments left empty do not count: they are not printed)."""
        return all(isinstance(item, FragItem) and item.sub.is_empty() for item in self.items.values())

    def print_compact(self) -> str:
        """The selection set in minimal GraphQL text (what subgraphs receive)."""
        parts: list[str] = []
        for item in self.items.values():
            if isinstance(item, FieldItem):
                head = (f"{item.alias}:{item.name}" if item.alias else item.name) + item.args + item.directives
                if item.sub is not None:
                    inner = item.sub.print_compact() if not item.sub.is_empty() else "__typename"
                    parts.append(head + "{" + inner + "}")
                else:
                    parts.append(head)
            else:
                if item.sub.is_empty():
                    continue
                cond = f" on {item.type_condition}" if item.type_condition else ""
                parts.append("..." + cond + item.directives + "{" + item.sub.print_compact() + "}")
        return " ".join(parts)

    def print_pretty(self, indent: int) -> list[str]:
        """The selection set, one selection per line (for plan printouts)."""
        pad = "  " * indent
        lines: list[str] = []
        for item in self.items.values():
            if isinstance(item, FieldItem):
                head = (f"{item.alias}: {item.name}" if item.alias else item.name) + item.args + item.directives
                if item.sub is not None:
                    lines.append(pad + head + " {")
                    lines.extend(item.sub.print_pretty(indent + 1) or [pad + "  __typename"])
                    lines.append(pad + "}")
                else:
                    lines.append(pad + head)
            else:
                if item.sub.is_empty():
                    continue
                cond = f" on {item.type_condition}" if item.type_condition else ""
                lines.append(pad + "..." + cond + item.directives + " {")
                lines.extend(item.sub.print_pretty(indent + 1))
                lines.append(pad + "}")
        return lines


def _shape(item: FieldItem) -> str:
    """The response shape GraphQL compares when merging fields: list and non-null wrappers,
    and the type itself only for leaves (composite types are compared through their fields)."""
    if not item.type:
        return ""
    if item.sub is None:
        return item.type
    return "".join(ch for ch in item.type if ch in "[]!")


def alias_conflicts(selsets: list[SelSet], counter: list[int] | None = None) -> bool:
    """Alias fields that share a response name but not a shape (fields in sibling fragments
    whose types differ between object types are valid in the API schema yet rejected by a
    subgraph). Aliased fields remember the name to restore. Returns whether any was aliased."""
    counter = counter if counter is not None else [0]
    by_name: dict[str, list[FieldItem]] = {}
    stack = list(selsets)
    while stack:
        ss = stack.pop(0)
        for item in ss.items.values():
            if isinstance(item, FragItem):
                stack.append(item.sub)
            else:
                by_name.setdefault(item.response_name, []).append(item)
    changed = False
    for name, items in by_name.items():
        first = items[0]
        same: list[FieldItem] = [first]
        for other in items[1:]:
            if (other.name, other.args) == (first.name, first.args) and _shape(other) == _shape(first):
                same.append(other)
                continue
            counter[0] += 1
            other.restore = name
            other.alias = f"_{counter[0]}_{name}"
            changed = True
        subs = [i.sub for i in same if i.sub is not None]
        if subs and alias_conflicts(subs, counter):
            changed = True
        for other in items:
            if other.restore is not None and other.sub is not None and alias_conflicts([other.sub], counter):
                changed = True
    return changed


def restore_names(value: object, selset: SelSet) -> None:
    """Undo internal aliases in a subgraph answer (see :func:`alias_conflicts`)."""
    if isinstance(value, list):
        for v in value:
            restore_names(v, selset)
        return
    if not isinstance(value, dict):
        return
    for item in selset.items.values():
        if isinstance(item, FragItem):
            restore_names(value, item.sub)
            continue
        key = item.response_name
        if key not in value:
            continue
        if item.sub is not None:
            restore_names(value[key], item.sub)
        if item.restore is not None:
            value[item.restore] = value.pop(key)


@dataclass(frozen=True, slots=True)
class ContextVariable:
    """A variable of an entity fetch whose value is read from an ancestor (``@fromContext``)."""

    name: str
    type: str
    types: frozenset[str]  # ancestor __typenames that carry the context
    selection: SelSet  # the single field (per type) whose value is passed


@dataclass(frozen=True, slots=True)
class Representation:
    """How to build one ``_entities`` representation from an object of an accepted type."""

    typename: str  # the __typename sent (an @interfaceObject's interface name, or the type itself)
    selection: SelSet  # key and @requires fields to copy from the object


@dataclass(frozen=True, slots=True)
class FetchNode:
    """One request to one subgraph."""

    subgraph: str
    operation: str  # printed subgraph operation
    operation_kind: str
    variable_usages: tuple[str, ...]
    selection: SelSet  # for printing plans
    # entity fetches: accepted __typename -> representation recipe
    requires: dict[str, Representation] | None = None
    root_fields: tuple[str, ...] = ()  # root fetches: top-level response names, for error paths
    id: int = 0
    renamed: bool = False  # some fields carry internal aliases to undo (see restore_names)
    context: tuple[ContextVariable, ...] = ()  # per-request variables read from ancestors
    # @skip/@include conditions (directive, literal or variable name) that must all hold for
    # this fetch to be needed: every client selection it serves sits under them
    conditions: tuple[tuple[str, bool | str], ...] = ()

    @property
    def is_entity_fetch(self) -> bool:
        return self.requires is not None


TYPE_FILTER = "|"
"""Prefix of a path segment that keeps only objects of one type (``"|Book"``): the objects at
that point of the response may be of several types, and the fetch is for one type's children."""


def print_path(path: tuple[str, ...]) -> str:
    """A flatten path as plans print it: ``review|[UserReview].product.@``."""
    out = ""
    for seg in path:
        if seg.startswith(TYPE_FILTER):
            out += f"|[{seg[len(TYPE_FILTER):]}]"
        else:
            out += ("." if out else "") + seg
    return out


@dataclass(frozen=True, slots=True)
class FlattenNode:
    """Run ``node`` on the objects found at ``path`` ("@" walks into lists, ``"|T"`` keeps
    only objects whose ``__typename`` is ``T``)."""

    path: tuple[str, ...]
    node: FetchNode


@dataclass(frozen=True, slots=True)
class SequenceNode:
    """Children run one after another."""

    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class ParallelNode:
    """Children run concurrently."""

    nodes: tuple[PlanNode, ...]


PlanNode = FetchNode | FlattenNode | SequenceNode | ParallelNode


@dataclass(frozen=True, slots=True)
class SubscriptionNode:
    """A subscription (Apollo's shape): ``primary`` is the subgraph subscription whose events
    start each execution; ``rest`` runs once per event over the event's data (entity fetches
    to other subgraphs), ``None`` when the primary subgraph answers everything."""

    primary: FetchNode
    rest: PlanNode | None = None


Plan = PlanNode | SubscriptionNode
"""What the planner makes of one operation (a subscription's plan is never nested)."""


@dataclass(frozen=True, slots=True)
class DeferredNode:
    """The fetches of one ``@defer``red fragment (Apollo's DeferredNode): run once the data of
    the block it ``depends`` on (``None``: the primary) is in, delivered as one incremental
    payload with an item per object at ``path`` ("@" walks into lists, "|T" keeps type T)."""

    id: int
    label: str | None
    depends: int | None
    path: tuple[str, ...]
    node: PlanNode | None


@dataclass(frozen=True, slots=True)
class DeferNode:
    """An operation with active ``@defer``s: the ``primary`` fetches nothing deferred (only the
    keys the deferred fetches start from); each ``deferred`` block runs after what it needs."""

    primary: PlanNode | None
    deferred: tuple[DeferredNode, ...]
