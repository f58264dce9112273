"""Merging one type per kind: objects and interfaces (union of fields), inputs (intersection
of fields), enums (union, intersection or equality depending on where they are used), unions
(union of members) and scalars; each with the ``@join__type`` facts of its subgraphs."""

from __future__ import annotations

from .errors import CompositionError, CompositionHint
from .merge_directives import merge_decorations, merge_join_directives
from .merge_fields import merge_field
from .merge_scope import MergeScope, fmt_subgraphs
from .merge_values import merge_input_value
from .subgraph_model import SubgraphField, SubgraphSchema, SubgraphType
from .supergraph import JoinField, JoinType, SEnumValue, SField, SType

Defs = list[tuple[SubgraphSchema, SubgraphType]]


def join_types(scope: MergeScope, defs: Defs) -> list[JoinType]:
    """The ``@join__type`` facts of an object or interface: one per key per subgraph."""
    out: list[JoinType] = []
    for s, t in defs:
        g = scope.enum_of[s.name]
        ext = t.extension and t.name not in ("Query", "Mutation", "Subscription")
        if t.keys:
            for k in t.keys:
                out.append(JoinType(g, k.fields, ext, k.resolvable, t.interface_object))
        else:
            # The reference only flags extensions of entities; a keyless extension is just a type.
            out.append(JoinType(g, None, False, True, t.interface_object))
    return out


def merge_composite(scope: MergeScope, name: str, kind: str, defs: Defs) -> SType:
    """An object or interface: the union of its fields, interfaces and ``@context`` names."""
    st = SType(name, kind, merge_decorations([t.deco for _, t in defs]))
    st.deco.join_directives = merge_join_directives([(scope.enum_of[s.name], t.deco) for s, t in defs])
    st.join_types = join_types(scope, defs)
    st.contexts = [f"{s.name}__{c}" for s, t in defs for c in t.contexts]
    for s, t in defs:
        for i in t.interfaces:
            if i not in st.interfaces:
                st.interfaces.append(i)
            st.implements.append((scope.enum_of[s.name], i))
    type_graphs = [s.name for s, _ in defs]
    field_defs: dict[str, list[tuple[SubgraphSchema, SubgraphField]]] = {}
    for s, t in defs:
        for f in t.fields.values():
            field_defs.setdefault(f.name, []).append((s, f))
    for fname, fdefs in field_defs.items():
        merged = merge_field(scope, name, fname, fdefs, type_graphs)
        if merged is not None:
            st.fields[fname] = merged
    return st


def merge_input(scope: MergeScope, name: str, defs: Defs) -> SType:
    """An input object: the fields every subgraph defines (and inaccessible ones where defined)."""
    st = SType(name, "input", merge_decorations([t.deco for _, t in defs]))
    st.join_types = [JoinType(scope.enum_of[s.name]) for s, _ in defs]
    names: list[str] = []
    for _, t in defs:
        names.extend(f for f in t.input_fields if f not in names)
    for fname in names:
        present = [(s, t.input_fields[fname]) for s, t in defs if fname in t.input_fields]
        missing = [s.name for s, t in defs if fname not in t.input_fields]
        coord = f"{name}.{fname}"
        if missing and any(a.deco.inaccessible for _, a in present):
            # Clients never see an @inaccessible input field, so it need not be everywhere:
            # it is kept (inaccessible) with the subgraphs that accept it.
            merged = merge_input_value(scope, coord, present, "INPUT_FIELD")
            if merged is not None:
                differs = len({str(x.type) for _, x in present}) > 1
                merged.joins = [
                    JoinField(scope.enum_of[s.name], type=str(a.type) if differs else None) for s, a in present
                ]
                st.input_fields[fname] = merged
            continue
        if missing:
            required = [s.name for s, a in present if a.type.is_non_null() and a.default is None]
            if required:
                scope.errors.append(
                    CompositionError(
                        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
                        f'Input object field "{coord}" is required in some subgraphs but does not appear '
                        f"in all subgraphs: it is required in {fmt_subgraphs(required)} but does not appear in "
                        f"{fmt_subgraphs(missing)}",
                        tuple(required + missing),
                        coord,
                    )
                )
            continue
        merged = merge_input_value(scope, coord, present, "INPUT_FIELD")
        if merged is not None:
            st.input_fields[fname] = merged
    if not st.input_fields and names:
        scope.errors.append(
            CompositionError(
                "EMPTY_MERGED_INPUT_TYPE",
                f'None of the fields of input object type "{name}" are consistently defined in all the '
                f"subgraphs defining that type. As only fields common to all subgraphs are merged, this "
                f"would result in an empty type.",
                tuple(s.name for s, _ in defs),
                name,
            )
        )
    return st


def merge_enum(scope: MergeScope, name: str, defs: Defs, usage: set[str]) -> SType:
    """An enum: union for output-only use, intersection for input-only use, equality for both."""
    st = SType(name, "enum", merge_decorations([t.deco for _, t in defs]))
    st.join_types = [JoinType(scope.enum_of[s.name]) for s, _ in defs]
    as_input = sorted(u.split(":", 1)[1] for u in usage if u.startswith("input:"))
    as_output = sorted(u.split(":", 1)[1] for u in usage if u.startswith("output:"))
    names: list[str] = []
    for _, t in defs:
        names.extend(v for v in t.values if v not in names)
    sgs = [s.name for s, _ in defs]
    for vname in names:
        has = [s.name for s, t in defs if vname in t.values]
        lacks = [n for n in sgs if n not in has]
        coord = f"{name}.{vname}"
        if lacks and any(t.values[vname].deco.inaccessible for _, t in defs if vname in t.values):
            # An @inaccessible value is invisible to clients, so it need not be defined
            # everywhere: it is kept (inaccessible) for the subgraphs that have it.
            lacks = []
        if lacks and as_input and as_output:
            scope.errors.append(
                CompositionError(
                    "ENUM_VALUE_MISMATCH",
                    f'Enum type "{name}" is used as both input type (for example, as type of '
                    f'"{as_input[0]}") and output type (for example, as type of "{as_output[0]}"), but '
                    f'value "{vname}" is not defined in all the subgraphs defining "{name}": "{vname}" is '
                    f"defined in {fmt_subgraphs(has)} but not in {fmt_subgraphs(lacks)}",
                    tuple(sgs),
                    coord,
                )
            )
            continue
        if lacks and as_input:
            scope.hints.append(
                CompositionHint(
                    "INCONSISTENT_ENUM_VALUE_FOR_INPUT_ENUM",
                    f'Value "{vname}" of enum type "{name}" will not be part of the supergraph as it is '
                    f'not defined in all the subgraphs defining "{name}".',
                )
            )
            continue
        decos = [t.values[vname].deco for _, t in defs if vname in t.values]
        st.values[vname] = SEnumValue(vname, merge_decorations(decos), [scope.enum_of[n] for n in has])
    mismatched = any(
        e.code == "ENUM_VALUE_MISMATCH" and (e.coordinate or "").startswith(f"{name}.") for e in scope.errors
    )
    if not st.values and names and not mismatched:
        scope.errors.append(
            CompositionError(
                "EMPTY_MERGED_ENUM_TYPE",
                f'None of the values of enum type "{name}" are defined consistently in all the subgraphs '
                f"defining that type. As only values common to all subgraphs are merged, this would result "
                f"in an empty type.",
                tuple(sgs),
                name,
            )
        )
    return st


def merge_union(scope: MergeScope, name: str, defs: Defs) -> SType:
    """A union: the union of its members, with the subgraphs of each."""
    st = SType(name, "union", merge_decorations([t.deco for _, t in defs]))
    st.join_types = [JoinType(scope.enum_of[s.name]) for s, _ in defs]
    for s, t in defs:
        for m in t.members:
            if m not in st.members:
                st.members.append(m)
            st.union_members.append((scope.enum_of[s.name], m))
    return st


def merge_scalar(scope: MergeScope, name: str, defs: Defs) -> SType:
    """A custom scalar: its decorations and the subgraphs that define it."""
    st = SType(name, "scalar", merge_decorations([t.deco for _, t in defs]))
    st.join_types = [JoinType(scope.enum_of[s.name]) for s, _ in defs]
    return st


def propagate_interface_objects(types: dict[str, SType]) -> None:
    """Fields an ``@interfaceObject`` adds to an interface also appear on every implementation.

    The implementations do not resolve them themselves (a bare ``@join__field``): the
    gateway fetches them from the subgraph that declared the interface object.
    """
    for iface in types.values():
        if iface.kind != "interface" or not any(j.is_interface_object for j in iface.join_types):
            continue
        for obj in types.values():
            if iface.name not in obj.interfaces or obj.kind != "object":
                continue
            for fname, f in iface.fields.items():
                if fname not in obj.fields:
                    obj.fields[fname] = SField(
                        fname, f.type, dict(f.args), merge_decorations([f.deco]), [JoinField(None)], []
                    )


__all__ = [
    "merge_composite",
    "merge_enum",
    "merge_input",
    "merge_scalar",
    "merge_union",
    "propagate_interface_objects",
]
