"""Federation validation rules, reported with Apollo's error codes.

``validate_subgraphs`` checks what each subgraph states about itself (its keys,
``@requires``, ``@provides`` and ``@external`` against the field sets they name);
``validate_supergraph`` checks what only the set of subgraphs shows (field sharing,
external fields no subgraph resolves, interfaces, inaccessible references).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphql.language import FieldNode, InlineFragmentNode, SelectionSetNode

from .errors import CompositionError
from .fieldset import FieldSetSyntaxError, parse_field_set, print_selection_set
from .rules import check_demand_control
from .subgraph_model import SubgraphField, SubgraphSchema, SubgraphType
from .supergraph import ComposedSupergraph, SField, SType

COMPOSITE = ("object", "interface", "union")


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field a field set selects: the type it is on, the field, and whether it is at the top."""

    type_name: str
    field: SubgraphField
    top: bool


class FieldSetProblem(Exception):
    """A field set names something the subgraph does not have, or selects it wrongly."""


def walk_field_set(
    sg: SubgraphSchema,
    type_name: str,
    text: str,
    visit: Callable[[FieldRef], None],
    allow_composite_leaf: bool = False,
) -> None:
    """Visit every field ``text`` selects from ``type_name`` in ``sg``; raise FieldSetProblem when invalid."""
    try:
        sel = parse_field_set(text)
    except FieldSetSyntaxError as exc:
        raise FieldSetProblem(f"invalid syntax: {exc}") from exc
    _walk(sg, type_name, sel, visit, True, allow_composite_leaf)


def _walk(
    sg: SubgraphSchema,
    type_name: str,
    sel: SelectionSetNode,
    visit: Callable[[FieldRef], None],
    top: bool,
    allow_composite_leaf: bool,
) -> None:
    t = sg.types.get(type_name)
    if t is None:
        raise FieldSetProblem(f'type "{type_name}" is not defined in this subgraph')
    for s in sel.selections:
        if isinstance(s, InlineFragmentNode):
            cond = s.type_condition.name.value if s.type_condition else type_name
            if cond not in sg.types:
                raise FieldSetProblem(f'Unknown type "{cond}"')
            _walk(sg, cond, s.selection_set, visit, top, allow_composite_leaf)
            continue
        if not isinstance(s, FieldNode):
            raise FieldSetProblem("fragment spreads are not allowed in field sets")
        name = s.name.value
        if name == "__typename":
            continue
        f = t.fields.get(name)
        if f is None:
            raise FieldSetProblem(f'Cannot query field "{name}" on type "{type_name}" (if the field is defined in '
                                  "another subgraph, you need to add it to this subgraph with @external).")
        visit(FieldRef(type_name, f, top))
        target = sg.types.get(f.type.named)
        composite = target is not None and target.kind in COMPOSITE
        if s.selection_set is not None:
            if not composite:
                raise FieldSetProblem(f'Field "{type_name}.{name}" of type "{f.type}" cannot have a selection')
            _walk(sg, f.type.named, s.selection_set, visit, False, allow_composite_leaf)
        elif composite and not allow_composite_leaf:
            raise FieldSetProblem(f'Field "{type_name}.{name}" of type "{f.type}" must have a selection')


def _err(code: str, message: str, subs: tuple[str, ...], coord: str | None) -> CompositionError:
    return CompositionError(code, message, subs, coord)


def validate_subgraphs(subgraphs: list[SubgraphSchema]) -> list[CompositionError]:
    """Rules checkable on each subgraph alone, plus extensions without a base anywhere."""
    errors: list[CompositionError] = []
    # A type only ever extended (``extend type`` or ``@extends``) has no base anywhere.
    # (A Federation 2 ``@extends`` type counts as a definition: the reference only rejects it in Federation 1.)
    defined = {
        t.name
        for s in subgraphs
        for t in s.types.values()
        if t.has_definition and (s.fed2 or not t.extends_directive)
    }
    roots = ("Query", "Mutation", "Subscription")
    for sg in subgraphs:
        used_externals: set[tuple[str, str]] = set()
        for t in sg.types.values():
            if t.name not in defined and t.name not in roots:
                errors.append(
                    _err(
                        "EXTENSION_WITH_NO_BASE",
                        f'[{sg.name}] Type "{t.name}" is an extension type, but there is no type definition for '
                        f'"{t.name}" in any subgraph.',
                        (sg.name,),
                        t.name,
                    )
                )
            _check_keys(sg, t, errors, used_externals)
            for f in t.fields.values():
                _check_requires(sg, t, f, errors, used_externals)
                _check_provides(sg, t, f, errors, used_externals)
        if sg.fed2:
            _check_unused_externals(sg, used_externals, errors)
        errors.extend(check_demand_control(sg))
    return errors


def _check_keys(
    sg: SubgraphSchema, t: SubgraphType, errors: list[CompositionError], used: set[tuple[str, str]]
) -> None:
    for k in t.keys:
        coord = t.name
        bad: list[str] = []

        def visit(ref: FieldRef, bad: list[str] = bad, fields: str = k.fields, coord: str = coord) -> None:
            used.add((ref.type_name, ref.field.name))
            target = sg.types.get(ref.field.type.named)
            if target is not None and target.kind in ("interface", "union"):
                bad.append(
                    f'field "{ref.type_name}.{ref.field.name}" is a {target.kind} type which is not allowed in @key'
                )
            if ref.field.args:
                errors.append(
                    _err(
                        "KEY_FIELDS_HAS_ARGS",
                        f'[{sg.name}] On type "{coord}", for @key(fields: "{fields}"): field '
                        f'{ref.type_name}.{ref.field.name} cannot be included because it has arguments (fields '
                        "with argument are not allowed in @key)",
                        (sg.name,),
                        coord,
                    )
                )

        try:
            walk_field_set(sg, t.name, k.fields, visit, allow_composite_leaf=True)
        except FieldSetProblem as exc:
            errors.append(
                _err(
                    "KEY_INVALID_FIELDS",
                    f'[{sg.name}] On type "{t.name}", for @key(fields: "{k.fields}"): {exc}',
                    (sg.name,),
                    coord,
                )
            )
            continue
        for b in bad:
            errors.append(
                _err(
                    "KEY_FIELDS_SELECT_INVALID_TYPE",
                    f'[{sg.name}] On type "{t.name}", for @key(fields: "{k.fields}"): {b}',
                    (sg.name,),
                    coord,
                )
            )


def _check_requires(
    sg: SubgraphSchema, t: SubgraphType, f: SubgraphField, errors: list[CompositionError], used: set[tuple[str, str]]
) -> None:
    if f.requires is None:
        return
    coord = f"{t.name}.{f.name}"
    def visit(ref: FieldRef) -> None:
        used.add((ref.type_name, ref.field.name))

    try:
        walk_field_set(sg, t.name, f.requires, visit)
    except FieldSetProblem as exc:
        errors.append(
            _err(
                "REQUIRES_INVALID_FIELDS",
                f'[{sg.name}] On field "{coord}", for @requires(fields: "{f.requires}"): {exc}',
                (sg.name,),
                coord,
            )
        )
        return
    missing = _not_external(sg, t.name, parse_field_set(f.requires)) if sg.fed2 else []
    for m in missing:
        errors.append(
            _err(
                "REQUIRES_FIELDS_MISSING_EXTERNAL",
                f'[{sg.name}] On field "{coord}", for @requires(fields: "{f.requires}"): field "{m}" should not '
                "be part of a @requires since it is already provided by this subgraph (it is not marked @external)",
                (sg.name,),
                coord,
            )
        )


def _check_provides(
    sg: SubgraphSchema, t: SubgraphType, f: SubgraphField, errors: list[CompositionError], used: set[tuple[str, str]]
) -> None:
    if f.provides is None:
        return
    coord = f"{t.name}.{f.name}"
    target = sg.types.get(f.type.named)
    if target is None or target.kind not in COMPOSITE:
        errors.append(
            _err(
                "PROVIDES_ON_NON_OBJECT_FIELD",
                f'[{sg.name}] Invalid @provides directive on field "{coord}": field has type "{f.type}" which is '
                "not a Composite Type",
                (sg.name,),
                coord,
            )
        )
        return
    def visit(ref: FieldRef) -> None:
        used.add((ref.type_name, ref.field.name))

    try:
        walk_field_set(sg, target.name, f.provides, visit)
    except FieldSetProblem as exc:
        errors.append(
            _err(
                "PROVIDES_INVALID_FIELDS",
                f'[{sg.name}] On field "{coord}", for @provides(fields: "{f.provides}"): {exc}',
                (sg.name,),
                coord,
            )
        )
        return
    missing = _not_external(sg, target.name, parse_field_set(f.provides)) if sg.fed2 else []
    for m in missing:
        errors.append(
            _err(
                "PROVIDES_FIELDS_MISSING_EXTERNAL",
                f'[{sg.name}] On field "{coord}", for @provides(fields: "{f.provides}"): field "{m}" should not '
                "be part of a @provides since it is already provided by this subgraph (it is not marked @external)",
                (sg.name,),
                coord,
            )
        )


def _not_external(sg: SubgraphSchema, type_name: str, sel: SelectionSetNode) -> list[str]:
    """Leaf fields a ``@requires`` / ``@provides`` selects that the subgraph resolves itself.

    Below an ``@external`` field everything counts as external; a local field with a
    selection is fine as long as what it selects below is external.
    """
    out: list[str] = []
    t = sg.types.get(type_name)
    if t is None:
        return out
    for s in sel.selections:
        if isinstance(s, InlineFragmentNode):
            cond = s.type_condition.name.value if s.type_condition else type_name
            out.extend(_not_external(sg, cond, s.selection_set))
            continue
        if not isinstance(s, FieldNode) or s.name.value == "__typename":
            continue
        f = t.fields.get(s.name.value)
        if f is None or f.external:
            continue
        if s.selection_set is not None:
            if t.kind == "interface" and _external_in_an_implementation(sg, t.name, f.name):
                continue  # as the reference: an interface field @external in an implementation counts as external
            out.extend(_not_external(sg, f.type.named, s.selection_set))
        else:
            out.append(f"{type_name}.{f.name}")
    return out


def _external_in_an_implementation(sg: SubgraphSchema, interface: str, field: str) -> bool:
    for impl in sg.types.values():
        if interface in impl.interfaces:
            f = impl.fields.get(field)
            if f is not None and f.external:
                return True
    return False


def _check_unused_externals(sg: SubgraphSchema, used: set[tuple[str, str]], errors: list[CompositionError]) -> None:
    for t in sg.types.values():
        iface_fields = {
            fname for i in t.interfaces if (it := sg.types.get(i)) is not None for fname in it.fields
        }
        for f in t.fields.values():
            if not f.external or (t.name, f.name) in used or f.name in iface_fields:
                continue
            # A field used through an interface the type implements counts as used.
            if any((i, f.name) in used for i in t.interfaces):
                continue
            errors.append(
                _err(
                    "EXTERNAL_UNUSED",
                    f'[{sg.name}] Field "{t.name}.{f.name}" is marked @external but is not used in any federation '
                    "directive (@key, @provides, @requires) or to satisfy an interface; the field declaration has "
                    "no use and should be removed (or the field should not be @external).",
                    (sg.name,),
                    f"{t.name}.{f.name}",
                )
            )


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


def validate_supergraph(subgraphs: list[SubgraphSchema], supergraph: ComposedSupergraph) -> list[CompositionError]:
    """Rules that need every subgraph: sharing, externals without a base, interfaces, inaccessible."""
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
                    _err(
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
                    _err(
                        "INVALID_FIELD_SHARING",
                        f'Non-shareable field "{coord}" is resolved from multiple subgraphs: it is resolved from '
                        f"{_fmt([s.name for s, _ in resolvers])} and defined as non-shareable in {where}",
                        tuple(s.name for s, _ in resolvers),
                        coord,
                    )
                )
    errors.extend(_check_interface_object_sharing(subgraphs, supergraph, keyed, provided))
    errors.extend(_check_interfaces(supergraph))
    errors.extend(_check_entity_interfaces(subgraphs, supergraph))
    errors.extend(_check_inaccessible(supergraph))
    q = supergraph.types.get("Query")
    if q is None or not q.fields:
        errors.append(
            _err(
                "NO_QUERIES",
                "No queries found in any subgraph: a supergraph must have a query root type.",
                tuple(s.name for s in subgraphs),
                None,
            )
        )
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
                    _err(
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


def _type_subgraphs(sg: ComposedSupergraph, t: SType) -> tuple[str, ...]:
    """Names of the subgraphs that define a merged type (from its ``@join__type``s)."""
    by_enum = {g.enum: g.name for g in sg.graphs}
    return tuple(dict.fromkeys(by_enum[j.graph] for j in t.join_types if j.graph in by_enum))


def _field_subgraphs(sg: ComposedSupergraph, t: SType, f: SField) -> tuple[str, ...]:
    """Names of the subgraphs that define a merged field (all of the type's when no ``@join__field``)."""
    by_enum = {g.enum: g.name for g in sg.graphs}
    graphs = [j.graph for j in f.joins if j.graph is not None]
    if not graphs:
        return _type_subgraphs(sg, t)
    return tuple(dict.fromkeys(by_enum[g] for g in graphs if g in by_enum))


def _check_interfaces(sg: ComposedSupergraph) -> list[CompositionError]:
    errors: list[CompositionError] = []
    for t in sg.types.values():
        if t.kind not in ("object", "interface"):
            continue
        for iname in t.interfaces:
            iface = sg.types.get(iname)
            if iface is None:
                continue
            for fname, f in iface.fields.items():
                if fname not in t.fields:
                    involved = tuple(dict.fromkeys(_field_subgraphs(sg, iface, f) + _type_subgraphs(sg, t)))
                    errors.append(
                        _err(
                            "INTERFACE_FIELD_NO_IMPLEM",
                            f'Interface field "{iname}.{fname}" is declared in some subgraphs but type "{t.name}", '
                            f'which implements "{iname}", does not have field "{fname}".',
                            involved,
                            f"{t.name}.{fname}",
                        )
                    )
    return errors


def _check_entity_interfaces(subgraphs: list[SubgraphSchema], sg: ComposedSupergraph) -> list[CompositionError]:
    """Rules of interfaces with ``@key`` and of ``@interfaceObject``.

    A subgraph that gives an interface a resolvable key must know every implementation
    (it answers ``__typename`` for them), each with that key; a subgraph that declares
    the interface as an ``@interfaceObject`` must not define implementations at all.
    """
    errors: list[CompositionError] = []
    implementations = {
        t.name: [o.name for o in sg.types.values() if o.kind == "object" and t.name in o.interfaces]
        for t in sg.types.values()
        if t.kind == "interface"
    }
    for s in subgraphs:
        for t in s.types.values():
            impls = implementations.get(t.name, [])
            if t.interface_object:
                for o in impls:
                    if o in s.types:
                        errors.append(
                            _err(
                                "INTERFACE_OBJECT_USAGE_ERROR",
                                f'[{s.name}] Interface type "{t.name}" is defined as an @interfaceObject in subgraph '
                                f'"{s.name}" so that subgraph should not define any of the implementation types of '
                                f'"{t.name}", but it defines type "{o}"',
                                (s.name,),
                                t.name,
                            )
                        )
                continue
            if t.kind != "interface" or not t.keys:
                continue
            local = [o for o in impls if o in s.types and t.name in s.types[o].interfaces]
            for k in t.keys:
                for o in local:
                    if not any(_same_field_set(k.fields, ok.fields) for ok in s.types[o].keys):
                        errors.append(
                            _err(
                                "INTERFACE_KEY_NOT_ON_IMPLEMENTATION",
                                f'[{s.name}] Key @key(fields: "{k.fields}") on interface type "{t.name}" is missing '
                                f'on implementation type "{o}".',
                                (s.name,),
                                o,
                            )
                        )
            if any(k.resolvable for k in t.keys):
                missing = [o for o in impls if o not in local]
                if missing:
                    key = next(k for k in t.keys if k.resolvable)
                    errors.append(
                        _err(
                            "INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE",
                            f'[{s.name}] Interface type "{t.name}" has a resolvable key (@key(fields: "{key.fields}")) '
                            f'in subgraph "{s.name}" but that subgraph is missing some of the supergraph '
                            f'implementation types of "{t.name}". Subgraph "{s.name}" should define type '
                            f'"{missing[0]}" (and have it implement "{t.name}").',
                            (s.name,),
                            t.name,
                        )
                    )
    return errors


def _same_field_set(a: str, b: str) -> bool:
    try:
        return print_selection_set(parse_field_set(a)) == print_selection_set(parse_field_set(b))
    except FieldSetSyntaxError:
        return a.strip() == b.strip()


def _check_inaccessible(sg: ComposedSupergraph) -> list[CompositionError]:
    """Elements clients see must not reference @inaccessible types (REFERENCED_INACCESSIBLE)."""
    hidden = {t.name for t in sg.types.values() if t.deco.inaccessible}
    errors: list[CompositionError] = []
    for t in sg.types.values():
        if t.deco.inaccessible:
            continue
        for f in t.fields.values():
            if not f.deco.inaccessible and f.type.named in hidden:
                errors.append(
                    _err(
                        "REFERENCED_INACCESSIBLE",
                        f'Type "{f.type.named}" is @inaccessible but is referenced by "{t.name}.{f.name}", which is '
                        "in the API schema.",
                        _field_subgraphs(sg, t, f),
                        f"{t.name}.{f.name}",
                    )
                )
            for a in f.args.values():
                if not a.deco.inaccessible and not f.deco.inaccessible and a.type.named in hidden:
                    errors.append(
                        _err(
                            "REFERENCED_INACCESSIBLE",
                            f'Type "{a.type.named}" is @inaccessible but is referenced by '
                            f'"{t.name}.{f.name}({a.name}:)", which is in the API schema.',
                            _field_subgraphs(sg, t, f),
                            f"{t.name}.{f.name}({a.name}:)",
                        )
                    )
        for a in t.input_fields.values():
            if not a.deco.inaccessible and a.type.named in hidden:
                errors.append(
                    _err(
                        "REFERENCED_INACCESSIBLE",
                        f'Type "{a.type.named}" is @inaccessible but is referenced by "{t.name}.{a.name}", which is '
                        "in the API schema.",
                        _type_subgraphs(sg, t),
                        f"{t.name}.{a.name}",
                    )
                )
    return errors


__all__ = ["FieldSetProblem", "validate_subgraphs", "validate_supergraph", "walk_field_set"]
