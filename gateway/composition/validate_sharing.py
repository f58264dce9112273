"""Field sharing across subgraphs: ``INVALID_FIELD_SHARING`` and ``EXTERNAL_MISSING_ON_BASE``.

A field two subgraphs resolve must be ``@shareable`` (or a key field) in each; ``@external``
fields count only where a ``@provides`` makes the subgraph resolve them, fields given away by
``@override`` not at all; an ``@interfaceObject`` resolves its fields for every implementation.
"""

from __future__ import annotations

from .errors import CompositionError
from .fieldset_walk import FieldRef, FieldSetProblem, walk_field_set
from .subgraph_model import SubgraphSchema, SubgraphType
from .supergraph import ComposedSupergraph


def _provided_fields(sg: SubgraphSchema) -> set[tuple[str, str]]:
    """Fields some ``@provides`` of this subgraph makes it resolve (external there otherwise)."""
    out: set[tuple[str, str]] = set()
    for t in sg.types.values():
        for f in t.fields.values():
            if f.provides is None:
                continue

            def visit(ref: FieldRef) -> None:
                out.add((ref.type_name, ref.field.name))

            try:
                walk_field_set(sg, f.type.named, f.provides, visit)
            except FieldSetProblem:
                continue
    return out


def _key_fields(sg: SubgraphSchema, t: SubgraphType) -> set[str]:
    out: set[str] = set()
    for k in t.keys:
        try:
            walk_field_set(sg, t.name, k.fields, lambda ref: out.add(f"{ref.type_name}.{ref.field.name}"), True)
        except FieldSetProblem:
            continue
    return out


def check_field_sharing(subgraphs: list[SubgraphSchema], supergraph: ComposedSupergraph) -> list[CompositionError]:
    """Fields resolved by several subgraphs without being shareable; fields external everywhere."""
    errors: list[CompositionError] = []
    provided = {sg.name: _provided_fields(sg) for sg in subgraphs}
    keyed: dict[str, set[str]] = {}
    for sg in subgraphs:
        for t in sg.types.values():
            for kf in _key_fields(sg, t):
                keyed.setdefault(sg.name, set()).add(kf)
    # (subgraph, type, field) given away by @override. A progressive override (label) counts
    # too: source and target both resolve the field during the migration, by design.
    overridden: set[tuple[str, str, str]] = set()
    for sg in subgraphs:
        for t in sg.types.values():
            for f in t.fields.values():
                if f.override and f.override != sg.name:
                    other = next((s for s in subgraphs if s.name == f.override), None)
                    if other is not None:
                        of = other.types.get(t.name)
                        if of is not None and f.name in of.fields and of.fields[f.name].override is None:
                            overridden.add((other.name, t.name, f.name))
    names = list(dict.fromkeys(t for sg in subgraphs for t in sg.types))
    for tname in names:
        st = supergraph.types.get(tname)
        if st is None or st.kind != "object":
            continue
        if len({sg.types[tname].kind for sg in subgraphs if tname in sg.types}) > 1:
            continue  # reported as TYPE_KIND_MISMATCH already
        fnames = list(dict.fromkeys(f for sg in subgraphs if tname in sg.types for f in sg.types[tname].fields))
        for fname in fnames:
            defs = [
                (sg, sg.types[tname].fields[fname])
                for sg in subgraphs
                if tname in sg.types and fname in sg.types[tname].fields
            ]
            coord = f"{tname}.{fname}"
            if all(f.external for _, f in defs):
                errors.append(
                    CompositionError(
                        "EXTERNAL_MISSING_ON_BASE",
                        f'Field "{coord}" is marked @external on all the subgraphs in which it is listed '
                        f"({_fmt([s.name for s, _ in defs])}).",
                        tuple(s.name for s, _ in defs),
                        coord,
                    )
                )
                continue
            resolvers = [
                (sg, f)
                for sg, f in defs
                if (not f.external or (tname, fname) in provided[sg.name])
                and (sg.name, tname, fname) not in overridden
            ]
            if len(resolvers) < 2:
                continue
            non_shareable = [
                sg.name
                for sg, f in resolvers
                if not f.shareable and not f.external and coord not in keyed.get(sg.name, set())
            ]
            if non_shareable:
                where = (
                    "all of them"
                    if len(non_shareable) == len(resolvers)
                    else _fmt(non_shareable)
                )
                errors.append(
                    CompositionError(
                        "INVALID_FIELD_SHARING",
                        f'Non-shareable field "{coord}" is resolved from multiple subgraphs: it is resolved from '
                        f"{_fmt([s.name for s, _ in resolvers])} and defined as non-shareable in {where}",
                        tuple(s.name for s, _ in resolvers),
                        coord,
                    )
                )
    errors.extend(_check_interface_object_sharing(subgraphs, supergraph, keyed, provided))
    return errors


def _check_interface_object_sharing(
    subgraphs: list[SubgraphSchema],
    supergraph: ComposedSupergraph,
    keyed: dict[str, set[str]],
    provided: dict[str, set[tuple[str, str]]],
) -> list[CompositionError]:
    """Field sharing through ``@interfaceObject``: each interface object resolves its fields for
    every implementation, so two of them (or one and the implementation itself) share them."""
    errors: list[CompositionError] = []
    for iface in supergraph.types.values():
        if iface.kind != "interface" or not any(j.is_interface_object for j in iface.join_types):
            continue
        impls = [o.name for o in supergraph.types.values() if o.kind == "object" and iface.name in o.interfaces]
        io_subgraphs = [s for s in subgraphs if iface.name in s.types and s.types[iface.name].interface_object]
        fnames = list(dict.fromkeys(f for s in io_subgraphs for f in s.types[iface.name].fields))
        for obj in impls:
            for fname in fnames:
                resolvers: list[tuple[str, str, bool]] = []  # (subgraph, label for the message, shareable)
                for s in subgraphs:
                    t = s.types.get(obj)
                    f = t.fields.get(fname) if t is not None else None
                    if f is not None and (not f.external or (obj, fname) in provided[s.name]):
                        ok = f.shareable or f.external or f"{obj}.{fname}" in keyed.get(s.name, set())
                        resolvers.append((s.name, f'"{s.name}"', ok))
                for s in io_subgraphs:
                    f = s.types[iface.name].fields.get(fname)
                    if f is not None and not f.external:
                        ok = f.shareable or f"{iface.name}.{fname}" in keyed.get(s.name, set())
                        label = f'"{s.name}" (through @interfaceObject field "{iface.name}.{fname}")'
                        resolvers.append((s.name, label, ok))
                if len(resolvers) < 2 or all(ok for _, _, ok in resolvers):
                    continue
                labels = [label for _, label, _ in resolvers]
                where = "all of them" if not any(ok for _, _, ok in resolvers) else "some of them"
                errors.append(
                    CompositionError(
                        "INVALID_FIELD_SHARING",
                        f'Non-shareable field "{obj}.{fname}" is resolved from multiple subgraphs: it is resolved '
                        f"from subgraphs {', '.join(labels[:-1])} and {labels[-1]} and defined as non-shareable in "
                        f"{where}",
                        tuple(dict.fromkeys(name for name, _, _ in resolvers)),
                        f"{obj}.{fname}",
                    )
                )
    return errors


def _fmt(names: list[str]) -> str:
    if len(names) == 1:
        return f'subgraph "{names[0]}"'
    return "subgraphs " + ", ".join(f'"{n}"' for n in names[:-1]) + f' and "{names[-1]}"'
