"""Field sets (``@key``, ``@requires``, ``@provides``, ``@fromContext`` selections): one parser for
the subgraph schemas being composed and the supergraph being served."""

from __future__ import annotations

from graphql import GraphQLSyntaxError, parse
from graphql.language import OperationDefinitionNode, SelectionSetNode


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
