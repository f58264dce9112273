"""Directive arguments of an SDL document as plain Python data.

The composer (reading subgraphs) and the supergraph parser (reading join
directives) both need ``@key(fields: "id", resolvable: false)`` as a dict.
Literals keep their source spelling (``Int`` and ``Float`` stay strings, enum
values are their names), which is what both compare and print.
"""

from __future__ import annotations

from typing import Any

from graphql import BooleanValueNode, DirectiveNode, ListValueNode, ObjectValueNode, StringValueNode, ValueNode


def literal_value(node: ValueNode | None) -> object:
    """A literal argument value: strings, booleans, nested lists and objects; other scalars as spelled."""
    if node is None:
        return None
    if isinstance(node, StringValueNode | BooleanValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        return [literal_value(v) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: literal_value(f.value) for f in node.fields}
    return getattr(node, "value", None)


def directive_arguments(directive: DirectiveNode) -> dict[str, Any]:
    """The directive's arguments by name."""
    return {a.name.value: literal_value(a.value) for a in directive.arguments or ()}
