"""Fetch groups: the subgraph fetches a plan is being built from, and undoing a failed attempt.

A :class:`FetchGroup` is one future fetch: a subgraph, the response path it writes at,
its selection set, the representations it sends (entity fetches) and the groups whose
data it needs first. :class:`FetchGroups` holds all of them for one planning attempt;
its :meth:`~FetchGroups.snapshot` copies every field of every group (its instance dict,
so a new field cannot be forgotten) and notes the keys of every
selection set, so that a dead end can be undone in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.planner.nodes import ContextVariable, Representation, SelSet
from gateway.planner.operation import Condition


@dataclass(eq=False)
class FetchGroup:
    """One fetch being planned (identity semantics: groups are compared and hashed by ``id``)."""

    id: int
    subgraph: str
    path: tuple[str, ...]
    is_entity: bool
    section: int  # mutations: the serial step this fetch belongs to (0 for queries)
    selset: SelSet = field(default_factory=SelSet)
    deps: set[FetchGroup] = field(default_factory=set)
    reps: dict[str, Representation] = field(default_factory=dict)  # by __typename of the objects
    rep_keys: dict[str, str] = field(default_factory=dict)  # __typename -> the @key fields chosen
    variables: set[str] = field(default_factory=set)
    root_fields: list[str] = field(default_factory=list)
    context: list[ContextVariable] = field(default_factory=list)
    # conditions under which every selection of this fetch is needed (the intersection over
    # all the positions that used it; None until first used)
    conds: frozenset[Condition] | None = None

    def use(self, conds: frozenset[Condition]) -> None:
        """Record that a position needing ``conds`` put selections into this fetch."""
        self.conds = conds if self.conds is None else self.conds & conds

    def __hash__(self) -> int:
        return self.id

    def depends_on(self, other: FetchGroup) -> bool:
        """Whether this group is ``other`` or (transitively) waits for it."""
        seen: set[int] = set()
        stack = [self]
        while stack:
            g = stack.pop()
            if g is other:
                return True
            if g.id in seen:
                continue
            seen.add(g.id)
            stack.extend(g.deps)
        return False


_MUTABLE = (set, dict, list)


def _copied(group: FetchGroup) -> dict[str, Any]:
    """Every field of ``group`` (its instance dict: the dataclass fields), containers copied so that
    later changes to the group cannot reach them. Selection sets are kept by identity (positions up
    the stack point into them); their keys are noted apart."""
    return {name: value.copy() if type(value) in _MUTABLE else value for name, value in vars(group).items()}


@dataclass(frozen=True, slots=True)
class GroupsSnapshot:
    """What a planning attempt may change, as it was (see :meth:`FetchGroups.snapshot`)."""

    count: int
    root_groups: dict[str, FetchGroup]
    group_fields: tuple[tuple[FetchGroup, dict[str, Any]], ...]
    selection_keys: tuple[tuple[SelSet, frozenset[Any]], ...]


@dataclass
class FetchGroups:
    """Every fetch group of one planning attempt, in creation order (their ids)."""

    groups: list[FetchGroup] = field(default_factory=list)
    root_groups: dict[str, FetchGroup] = field(default_factory=dict)  # queries: root fetch by subgraph
    section: int = 0

    def new(self, subgraph: str, path: tuple[str, ...], *, is_entity: bool) -> FetchGroup:
        """A new, empty group in the current section."""
        g = FetchGroup(id=len(self.groups), subgraph=subgraph, path=path, is_entity=is_entity, section=self.section)
        self.groups.append(g)
        return g

    def has_entity_fetch(self, subgraph: str, path: tuple[str, ...]) -> bool:
        """Whether an entity fetch to ``subgraph`` at ``path`` exists already."""
        return any(g.is_entity and g.subgraph == subgraph and g.path == path for g in self.groups)

    def snapshot(self) -> GroupsSnapshot:
        """The state a failed attempt may touch, so that :meth:`restore` can undo it."""
        keys: list[tuple[SelSet, frozenset[Any]]] = []

        def note(ss: SelSet) -> None:
            keys.append((ss, frozenset(ss.items)))
            for item in ss.items.values():
                if item.sub is not None:
                    note(item.sub)

        group_fields = []
        for g in self.groups:
            note(g.selset)
            for rep in g.reps.values():
                note(rep.selection)
            group_fields.append((g, _copied(g)))
        return GroupsSnapshot(count=len(self.groups), root_groups=dict(self.root_groups),
                              group_fields=tuple(group_fields), selection_keys=tuple(keys))

    def restore(self, snap: GroupsSnapshot) -> None:
        """Undo everything done since ``snap`` was taken."""
        del self.groups[snap.count:]
        self.root_groups = dict(snap.root_groups)
        for g, values in snap.group_fields:
            vars(g).update({name: value.copy() if type(value) in _MUTABLE else value for name, value in values.items()})
        for ss, kept in snap.selection_keys:
            for k in [k for k in ss.items if k not in kept]:
                del ss.items[k]


def finished(groups: list[FetchGroup]) -> list[FetchGroup]:
    """The groups that fetch something, their dependencies restricted to one another, each
    group's conditions narrowed to what its dependents need."""
    kept = [g for g in groups if not g.selset.is_empty()]
    ids = {g.id for g in kept}
    for g in kept:
        g.deps = {d for d in g.deps if d.id in ids and d is not g}
    _needed_by_dependents(kept)
    return kept


def _needed_by_dependents(groups: list[FetchGroup]) -> None:
    """A fetch whose output feeds another fetch is needed whenever that one is: narrow each
    fetch's conditions to what its dependents need (until nothing changes; deps are acyclic)."""
    changed = True
    while changed:
        changed = False
        for g in groups:
            mine = g.conds if g.conds is not None else frozenset()
            for d in g.deps:
                if d.conds is None:
                    continue
                narrowed = d.conds & mine
                if narrowed != d.conds:
                    d.conds = narrowed
                    changed = True
