"""Field sets: the selection strings of ``@key``, ``@requires`` and ``@provides``."""

from __future__ import annotations

from graphql import print_ast
from graphql.language import FieldNode, InlineFragmentNode, SelectionSetNode

from gateway.supergraph.fieldset import FieldSetSyntaxError, parse_field_set

__all__ = ["FieldSetSyntaxError", "parse_field_set", "print_selection_set", "top_level_fields"]


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
