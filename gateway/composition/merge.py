"""Merging subgraph types into supergraph types (Federation 2 rules).

Objects and interfaces take the union of their fields; inputs the intersection;
enums the union, the intersection or require equality depending on where they are
used; unions the union of their members. Every merged element remembers, as
``@join__*`` facts, which subgraph defines and resolves it.

This module holds the merge step as a whole (:class:`Merger`: type kinds, the subtype
relation, enum usage, and the order of the work); the parts live beside it:
:mod:`.merge_types` (one type per kind), :mod:`.merge_fields` (one field of an object or
interface), :mod:`.merge_values` (arguments, input fields, type references),
:mod:`.merge_directives` (decorations and directive definitions), :mod:`.merge_scope`
(what they share).
"""

from __future__ import annotations

import re

from .errors import CompositionError, CompositionHint
from .merge_directives import executable_locations, merge_decorations, merge_directive_definitions
from .merge_scope import MergeScope
from .merge_types import (
    merge_composite,
    merge_enum,
    merge_input,
    merge_scalar,
    merge_union,
    propagate_interface_objects,
)
from .merge_values import merge_type_refs
from .subgraph_model import BUILTIN_SCALARS, SubgraphSchema, SubgraphType
from .supergraph import ComposedSupergraph, Graph, SType


def graph_enum_names(names: list[str]) -> list[str]:
    """``join__Graph`` values: the subgraph name upper-cased, made a valid and unique enum value."""
    out: list[str] = []
    for n in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", n).upper()
        if not base or base[0].isdigit():
            base = "_" + base
        cand = base
        i = 1
        while cand in out:
            cand = f"{base}_{i}"
            i += 1
        out.append(cand)
    return out


class Merger:
    """One composition's merge step; collects errors and hints instead of raising."""

    def __init__(self, subgraphs: list[SubgraphSchema]) -> None:
        self.subgraphs = subgraphs
        self.errors: list[CompositionError] = []
        self.hints: list[CompositionHint] = []
        enums = graph_enum_names([s.name for s in subgraphs])
        self.graphs = [Graph(e, s.name, s.url) for e, s in zip(enums, subgraphs, strict=True)]
        self.enum_of = {g.name: g.enum for g in self.graphs}
        # type name -> [(subgraph, definition)] in subgraph order; dict order is first appearance.
        self.defs: dict[str, list[tuple[SubgraphSchema, SubgraphType]]] = {}
        for s in subgraphs:
            for t in s.types.values():
                self.defs.setdefault(t.name, []).append((s, t))
        self.kinds: dict[str, str] = {}
        self.supertypes: dict[str, set[str]] = {}

    # ---- relations -------------------------------------------------------------------------

    def _compute_kinds(self) -> None:
        for name, defs in self.defs.items():
            kinds = {("interface" if t.interface_object else t.kind) for _, t in defs}
            real = {t.kind for _, t in defs if not t.interface_object}
            if len(kinds) > 1:
                detail = "; ".join(f'"{s.name}": {t.kind}' for s, t in defs)
                self.errors.append(
                    CompositionError(
                        "TYPE_KIND_MISMATCH",
                        f'Type "{name}" has mismatched kind: it is defined with different kinds ({detail}).',
                        tuple(s.name for s, _ in defs),
                        name,
                    )
                )
            if any(t.interface_object for _, t in defs) and "interface" not in real:
                self.errors.append(
                    CompositionError(
                        "INTERFACE_OBJECT_USAGE_ERROR",
                        f'Type "{name}" is declared with @interfaceObject in all the subgraphs in which is is '
                        "defined (it should be an interface in at least one subgraph).",
                        tuple(s.name for s, _ in defs),
                        name,
                    )
                )
            self.kinds[name] = next(iter(kinds)) if len(kinds) == 1 else defs[0][1].kind
        for _name, defs in self.defs.items():
            for _, t in defs:
                for i in t.interfaces:
                    self.supertypes.setdefault(t.name, set()).add(i)
                for m in t.members:
                    self.supertypes.setdefault(m, set()).add(t.name)

    def is_subtype(self, sub: str, sup: str) -> bool:
        """Whether ``sub`` implements interface ``sup`` or is a member of union ``sup`` somewhere."""
        seen: set[str] = set()
        todo = [sub]
        while todo:
            n = todo.pop()
            for s in self.supertypes.get(n, ()):
                if s == sup:
                    return True
                if s not in seen:
                    seen.add(s)
                    todo.append(s)
        return False

    def _enum_usage(self) -> dict[str, set[str]]:
        usage: dict[str, set[str]] = {}
        for s in self.subgraphs:
            for t in s.types.values():
                for f in t.fields.values():
                    usage.setdefault(f.type.named, set()).add(f"output:{t.name}.{f.name}")
                    for a in f.args.values():
                        usage.setdefault(a.type.named, set()).add(f"input:{t.name}.{f.name}({a.name}:)")
                for f2 in t.input_fields.values():
                    usage.setdefault(f2.type.named, set()).add(f"input:{t.name}.{f2.name}")
        return usage

    # ---- the whole merge -------------------------------------------------------------------

    # ---- the whole merge -------------------------------------------------------------------

    def merge(self) -> ComposedSupergraph:
        """Merge every type; errors are in ``self.errors`` afterwards."""
        self._compute_kinds()
        usage = self._enum_usage()
        scope = MergeScope(self.graphs, self.enum_of, self.is_subtype, self.errors, self.hints)
        types: dict[str, SType] = {}
        for name, defs in self.defs.items():
            kind = self.kinds[name]
            if kind in ("object", "interface"):
                types[name] = merge_composite(scope, name, kind, defs)
            elif kind == "input":
                types[name] = merge_input(scope, name, defs)
            elif kind == "enum":
                types[name] = merge_enum(scope, name, defs, usage.get(name, set()))
            elif kind == "union":
                types[name] = merge_union(scope, name, defs)
            else:
                if name in BUILTIN_SCALARS:
                    continue
                types[name] = merge_scalar(scope, name, defs)
        propagate_interface_objects(types)
        kinds = (("query", "Query"), ("mutation", "Mutation"), ("subscription", "Subscription"))
        roots = {k: v for k, v in kinds if v in types}
        sg = ComposedSupergraph(self.graphs, types, roots, merge_directive_definitions(self.subgraphs))
        return sg


# Re-exported: printer.py imports executable_locations from here, decorations merging was defined here.
__all__ = ["Merger", "executable_locations", "graph_enum_names", "merge_decorations", "merge_type_refs"]
