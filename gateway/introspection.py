"""The gateway's own answers to introspection: the ``__schema`` / ``__type`` part of an operation.

Introspection root fields never reach a subgraph. :func:`introspection_document` reduces an
operation to them, and graphql-core executes that document against the API schema with
:data:`INTROSPECTION_MIDDLEWARE`; the response shaper puts the answers in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
)

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
"""The root fields the gateway answers from the API schema itself."""

_UNRELEASED_DIRECTIVE_LOCATIONS = frozenset({"FRAGMENT_VARIABLE_DEFINITION"})


def introspection_document(document: DocumentNode, op: OperationDefinitionNode) -> DocumentNode | None:
    """The operation reduced to its ``__schema`` / ``__type`` root fields, or None when it has none.

    Fragments at the root (inline, or named ones spread there) keep their directives and
    type conditions around the introspection fields they hold, so graphql-core collects
    the fields as the spec says: @skip/@include apply, and the same field selected twice
    has its selections merged."""
    if op.operation.value != "query":
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = _introspection_selections(op.selection_set, fragments)
    if root is None:
        return None
    reduced = dataclasses.replace(op, selection_set=root)
    others = tuple(d for d in document.definitions if not isinstance(d, OperationDefinitionNode))
    return dataclasses.replace(document, definitions=(reduced, *others))


def _introspection_selections(selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode],
                              ) -> SelectionSetNode | None:
    """``selection_set`` (of the query root) with only its introspection root fields, or None."""
    kept: list[SelectionNode] = []
    for s in selection_set.selections:
        if isinstance(s, FieldNode):
            if s.name.value in INTROSPECTION_ROOTS:
                kept.append(s)
            continue
        if isinstance(s, InlineFragmentNode):
            inner = _introspection_selections(s.selection_set, fragments)
            if inner is not None:
                kept.append(dataclasses.replace(s, selection_set=inner, directives=_undeferred(s.directives)))
        elif isinstance(s, FragmentSpreadNode):
            frag = fragments.get(s.name.value)
            inner = _introspection_selections(frag.selection_set, fragments) if frag is not None else None
            if frag is not None and inner is not None:
                # the spread becomes an inline fragment: its own directives, the fragment's condition
                kept.append(InlineFragmentNode(type_condition=frag.type_condition,
                                               directives=_undeferred(s.directives), selection_set=inner))
    return dataclasses.replace(selection_set, selections=tuple(kept)) if kept else None


def _undeferred(directives: Any) -> tuple[Any, ...]:
    """The directives without ``@defer``: the gateway answers introspection at once (graphql-core
    would refuse to execute a deferred fragment); gateway/incremental.py delivers it deferred."""
    return tuple(d for d in directives or () if d.name.value != "defer")


def _released_directive_locations(next_: Any, root: Any, info: Any, **args: Any) -> Any:
    """List only the released spec's values of ``__DirectiveLocation``.

    graphql-core 3.3 adds ``FRAGMENT_VARIABLE_DEFINITION`` (the fragment-arguments proposal) to
    its shared enum; no directive of the API schema can use it and clients generated from the
    released spec reject the unknown value. The shared enum is left alone (subgraphs in the same
    process use it): only this gateway's answers leave the value out.
    """
    result = next_(root, info, **args)
    if info.field_name == "enumValues" and getattr(root, "name", None) == "__DirectiveLocation" and result:
        return [item for item in result if item[0] not in _UNRELEASED_DIRECTIVE_LOCATIONS]
    return result


def _own_is_one_of(next_: Any, root: Any, info: Any, **args: Any) -> Any:
    """Answer ``__Type.isOneOf`` from graphql-core's own flag.

    Strawberry replaces the resolver of graphql-core's shared ``__Type.isOneOf``
    field whenever it builds a schema, and its resolver answers false for any
    type it did not create. A gateway sharing a process with Strawberry schemas
    (``dpp-stack``, the test suite) would then hide ``@oneOf`` from partners.
    """
    if info.field_name == "isOneOf" and info.parent_type.name == "__Type":
        return bool(getattr(root, "is_one_of", False))
    return next_(root, info, **args)


INTROSPECTION_MIDDLEWARE = (_own_is_one_of, _released_directive_locations)
"""The graphql-core middleware of every introspection execution."""
