"""Walking a field set (``@key`` / ``@requires`` / ``@provides``) over one subgraph's types.

:func:`walk_field_set` visits every field the set selects and raises :class:`FieldSetProblem`
when it names something the subgraph lacks or selects it wrongly; the validation rules
(:mod:`.validate_subgraph`, :mod:`.validate_sharing`) are built on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphql.language import FieldNode, InlineFragmentNode, SelectionSetNode

from .fieldset import FieldSetSyntaxError, parse_field_set
from .subgraph_model import SubgraphField, SubgraphSchema

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
