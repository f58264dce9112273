"""Field sets: the selection strings of ``@key``, ``@requires`` and ``@provides``."""

from __future__ import annotations

from graphql import GraphQLSyntaxError, parse, print_ast
from graphql.language import FieldNode, InlineFragmentNode, OperationDefinitionNode, SelectionSetNode


class FieldSetSyntaxError(ValueError):
    """The field set string is not a valid selection set."""


def parse_field_set(text: str) -> SelectionSetNode:
    """Parse ``"id sku pkg { id }"`` as the selection set it is, braces implied."""
    try:
        doc = parse("{" + text + "}", no_location=True)
    except GraphQLSyntaxError as exc:
        raise FieldSetSyntaxError(str(exc.message)) from exc
    op = doc.definitions[0]
    if not isinstance(op, OperationDefinitionNode) or len(doc.definitions) != 1:
        raise FieldSetSyntaxError("a field set is a single selection set")
    return op.selection_set


def top_level_fields(text: str) -> list[str]:
    """The field names at the top of a field set (aliases are not allowed in field sets)."""
    out: list[str] = []
    for sel in parse_field_set(text).selections:
        if isinstance(sel, FieldNode):
            out.append(sel.name.value)
    return out


def print_selection_set(sel: SelectionSetNode) -> str:
    """Print a selection set on one line, in the normalised form the supergraph uses."""
    parts: list[str] = []
    for s in sel.selections:
        if isinstance(s, FieldNode):
            text = s.name.value
            if s.arguments:
                text += "(" + ", ".join(f"{a.name.value}: {print_ast(a.value)}" for a in s.arguments) + ")"
            if s.selection_set is not None:
                text += " { " + print_selection_set(s.selection_set) + " }"
            parts.append(text)
        elif isinstance(s, InlineFragmentNode):
            cond = f"... on {s.type_condition.name.value}" if s.type_condition else "..."
            parts.append(cond + " { " + print_selection_set(s.selection_set) + " }")
    return " ".join(parts)
