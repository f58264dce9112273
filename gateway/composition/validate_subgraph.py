"""Validation rules checkable on each subgraph alone, with Apollo's error codes.

Extensions without a base anywhere (``EXTENSION_WITH_NO_BASE``), keys (``KEY_*``), ``@requires``
and ``@provides`` against the field sets they name (``REQUIRES_*``, ``PROVIDES_*``), unused
``@external`` fields (``EXTERNAL_UNUSED``) and demand control (:func:`.rules.check_demand_control`).
"""

from __future__ import annotations

from graphql.language import FieldNode, InlineFragmentNode, SelectionSetNode

from .errors import CompositionError
from .fieldset import parse_field_set
from .fieldset_walk import COMPOSITE, FieldRef, FieldSetProblem, walk_field_set
from .rules import check_demand_control
from .subgraph_model import SubgraphField, SubgraphSchema, SubgraphType


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
                    CompositionError(
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
                    CompositionError(
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
                CompositionError(
                    "KEY_INVALID_FIELDS",
                    f'[{sg.name}] On type "{t.name}", for @key(fields: "{k.fields}"): {exc}',
                    (sg.name,),
                    coord,
                )
            )
            continue
        for b in bad:
            errors.append(
                CompositionError(
                    "KEY_FIELDS_SELECT_INVALID_TYPE",
                    f'[{sg.name}] On type "{t.name}", for @key(fields: "{k.fields}"): {b}',
                    (sg.name,),
                    coord,
                )
            )


def _check_requires(
    sg: SubgraphSchema, t: SubgraphType, f: SubgraphField, errors: list[CompositionError], used: set[tuple[str, str]]
) -> None:
    if f.requires is not None:
        _check_selected_fields(sg, f"{t.name}.{f.name}", "requires", t.name, f.requires, errors, used)


def _check_provides(
    sg: SubgraphSchema, t: SubgraphType, f: SubgraphField, errors: list[CompositionError], used: set[tuple[str, str]]
) -> None:
    if f.provides is None:
        return
    coord = f"{t.name}.{f.name}"
    target = sg.types.get(f.type.named)
    if target is None or target.kind not in COMPOSITE:
        errors.append(
            CompositionError(
                "PROVIDES_ON_NON_OBJECT_FIELD",
                f'[{sg.name}] Invalid @provides directive on field "{coord}": field has type "{f.type}" which is '
                "not a Composite Type",
                (sg.name,),
                coord,
            )
        )
        return
    _check_selected_fields(sg, coord, "provides", target.name, f.provides, errors, used)


def _check_selected_fields(
    sg: SubgraphSchema,
    coord: str,
    directive: str,
    type_name: str,
    fields: str,
    errors: list[CompositionError],
    used: set[tuple[str, str]],
) -> None:
    """The field set of ``@requires`` / ``@provides`` (``directive``) on field ``coord``, selected from
    ``type_name``: it must be valid (``*_INVALID_FIELDS``) and, in Federation 2, select only external
    leaves (``*_FIELDS_MISSING_EXTERNAL``). The fields it selects are recorded in ``used``."""
    code = directive.upper()

    def visit(ref: FieldRef) -> None:
        used.add((ref.type_name, ref.field.name))

    try:
        walk_field_set(sg, type_name, fields, visit)
    except FieldSetProblem as exc:
        errors.append(
            CompositionError(
                f"{code}_INVALID_FIELDS",
                f'[{sg.name}] On field "{coord}", for @{directive}(fields: "{fields}"): {exc}',
                (sg.name,),
                coord,
            )
        )
        return
    missing = _not_external(sg, type_name, parse_field_set(fields)) if sg.fed2 else []
    for m in missing:
        errors.append(
            CompositionError(
                f"{code}_FIELDS_MISSING_EXTERNAL",
                f'[{sg.name}] On field "{coord}", for @{directive}(fields: "{fields}"): field "{m}" should not '
                f"be part of a @{directive} since it is already provided by this subgraph (it is not marked "
                "@external)",
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
                CompositionError(
                    "EXTERNAL_UNUSED",
                    f'[{sg.name}] Field "{t.name}.{f.name}" is marked @external but is not used in any federation '
                    "directive (@key, @provides, @requires) or to satisfy an interface; the field declaration has "
                    "no use and should be removed (or the field should not be @external).",
                    (sg.name,),
                    f"{t.name}.{f.name}",
                )
            )
