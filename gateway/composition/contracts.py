"""Contract variants: a composed supergraph filtered by ``@tag`` into what one audience may see.

As Apollo's contracts and Hive's do, the contract is the same supergraph with ``@inaccessible``
applied to every filtered element, so a gateway serving it still plans through hidden keys
and fields (``@join__*`` stays complete) while its API schema, used for validation and
introspection, leaves them out. The filter, in the order Apollo documents its steps:

1. *Tag inheritance*: a tag on an object or interface type counts for each of its fields.
2. *Tag matching*: an element with an excluded tag is hidden (exclusion wins over inclusion).
   With included tags, object and interface fields and union types without an included tag
   are hidden too; other elements (enums and their values, input types and fields, scalars,
   arguments) are only hidden by excluded tags, and go when they become unreachable.
3. *Empty removal*: an object or interface type whose fields are all hidden is hidden (so
   an untagged type stays while one of its fields is included), a union whose members are all
   hidden is hidden; an interface field is hidden when a visible implementation hides it.
4. *Unreachable removal* (``hide_unreachable_types``, on by default as in Hive and Apollo
   Studio): types no visible root field reaches, through visible fields, arguments, input
   fields, union members and interface implementations, are hidden.
5. *Validation*: a visible element may not return or take a hidden type, a required argument
   or input field may not be hidden while its parent is visible, and the query root keeps at
   least one field (errors ``CONTRACT_*``; the supergraph is not written).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .errors import CompositionError
from .printer import print_supergraph
from .subgraph_model import Decorations
from .supergraph import ComposedSupergraph, SArgument, SType
from .validate_inaccessible import check_inaccessible

_COMPOSITE = ("object", "interface")


@dataclass(frozen=True, slots=True)
class ContractFilter:
    """Which tags a contract keeps and drops."""

    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    hide_unreachable_types: bool = True

    def drops(self, tags: Iterable[str], *, by_inclusion: bool) -> bool:
        """Whether an element with ``tags`` is hidden; ``by_inclusion`` when include rules apply to it."""
        present = set(tags)
        if present & self.exclude:
            return True
        return by_inclusion and bool(self.include) and not present & self.include


@dataclass(slots=True)
class ContractResult:
    """The contract supergraph's SDL, or the errors that stopped it."""

    supergraph_sdl: str | None = None
    errors: list[CompositionError] = field(default_factory=list)
    supergraph: ComposedSupergraph | None = None
    hidden_types: list[str] = field(default_factory=list)


def apply_contract(source: ComposedSupergraph, contract: ContractFilter) -> ContractResult:
    """The contract of ``source`` (left unchanged) under ``contract``."""
    sg = copy.deepcopy(source)
    already = {t.name for t in sg.types.values() if t.deco.inaccessible}
    _match_tags(sg, contract)
    _remove_empty(sg)
    if contract.hide_unreachable_types:
        _remove_unreachable(sg)
    errors = _validate(sg)
    if errors:
        return ContractResult(errors=errors)
    hidden = sorted(t.name for t in sg.types.values() if t.deco.inaccessible and t.name not in already)
    return ContractResult(print_supergraph(sg), [], sg, hidden)


def _hide(deco: Decorations) -> None:
    deco.inaccessible = True


def _match_tags(sg: ComposedSupergraph, contract: ContractFilter) -> None:
    for t in sg.types.values():
        if contract.drops(t.deco.tags, by_inclusion=t.kind == "union"):
            _hide(t.deco)
        for f in t.fields.values():
            # tag inheritance: the type's tags count for each of its fields
            if contract.drops([*t.deco.tags, *f.deco.tags], by_inclusion=t.kind in _COMPOSITE):
                _hide(f.deco)
            for a in f.args.values():
                if contract.drops(a.deco.tags, by_inclusion=False):
                    _hide(a.deco)
        for a in t.input_fields.values():
            if contract.drops(a.deco.tags, by_inclusion=False):
                _hide(a.deco)
        for v in t.values.values():
            if contract.drops(v.deco.tags, by_inclusion=False):
                _hide(v.deco)


def _visible(sg: ComposedSupergraph, name: str) -> bool:
    t = sg.types.get(name)
    return t is None or not t.deco.inaccessible  # built-in scalars are not in ``types``


def _remove_empty(sg: ComposedSupergraph) -> None:
    """Hide emptied composite types and unions, and interface fields an implementation hides, until stable."""
    changed = True
    while changed:
        changed = False
        for t in sg.types.values():
            if t.deco.inaccessible:
                continue
            if t.kind in _COMPOSITE and all(f.deco.inaccessible for f in t.fields.values()):
                changed = _changed(t.deco)
            elif t.kind == "union" and not any(_visible(sg, m) for m in t.members):
                changed = _changed(t.deco)
            elif t.kind == "interface":
                for impl in _implementations(sg, t.name):
                    for fname, f in t.fields.items():
                        mine = impl.fields.get(fname)
                        if not f.deco.inaccessible and mine is not None and mine.deco.inaccessible:
                            changed = _changed(f.deco)


def _changed(deco: Decorations) -> bool:
    _hide(deco)
    return True


def _implementations(sg: ComposedSupergraph, interface: str) -> Iterator[SType]:
    for t in sg.types.values():
        if interface in t.interfaces and not t.deco.inaccessible:
            yield t


def _remove_unreachable(sg: ComposedSupergraph) -> None:
    reached: set[str] = set()
    todo = [name for name in sg.roots.values() if _visible(sg, name)]
    while todo:
        name = todo.pop()
        t = sg.types.get(name)
        if name in reached or t is None or t.deco.inaccessible:
            continue
        reached.add(name)
        for f in t.fields.values():
            if f.deco.inaccessible:
                continue
            todo.append(f.type.named)
            todo.extend(a.type.named for a in f.args.values() if not a.deco.inaccessible)
        todo.extend(a.type.named for a in t.input_fields.values() if not a.deco.inaccessible)
        todo.extend(t.members)
        todo.extend(t.interfaces)
        if t.kind == "interface":
            todo.extend(impl.name for impl in _implementations(sg, name))
    for t in sg.types.values():
        if t.name not in reached:
            _hide(t.deco)


def _validate(sg: ComposedSupergraph) -> list[CompositionError]:
    errors = [
        CompositionError("CONTRACT_" + e.code, e.message, e.subgraphs, e.coordinate)
        for e in check_inaccessible(sg)
    ]
    query = sg.types.get(sg.roots.get("query", "Query"))
    if query is None or query.deco.inaccessible:
        errors.append(CompositionError("CONTRACT_EMPTY_QUERY", "The contract leaves no field of the query root."))
    for t in sg.types.values():
        if t.deco.inaccessible:
            continue
        for f in t.fields.values():
            if not f.deco.inaccessible:
                errors.extend(_required_hidden(f.args.values(), f"{t.name}.{f.name}", argument=True))
        errors.extend(_required_hidden(t.input_fields.values(), t.name, argument=False))
    return errors


def _required_hidden(values: Iterable[SArgument], parent: str, *, argument: bool) -> list[CompositionError]:
    out: list[CompositionError] = []
    for a in values:
        if a.deco.inaccessible and a.type.is_non_null() and a.default is None:
            coordinate = f"{parent}({a.name}:)" if argument else f"{parent}.{a.name}"
            out.append(CompositionError(
                "CONTRACT_REQUIRED_INACCESSIBLE",
                f'"{coordinate}" is required but the contract hides it while "{parent}" stays visible.',
                (),
                coordinate,
            ))
    return out
