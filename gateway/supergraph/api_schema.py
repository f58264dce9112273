"""The API schema of a supergraph: what clients see. The one derivation the gateway serves,
``gateway schema diff`` compares and the composition corpus checks against the reference.

As Apollo's reference does: every element of a ``@link``-ed spec goes (join, link, tag,
inaccessible, ... and directives brought in from other specs by ``@composeDirective``),
and so does everything marked ``@inaccessible``. Of the applied directives only
``@deprecated``, ``@specifiedBy`` and ``@oneOf`` stay (introspection shows them); of the
directive definitions no spec claims, the executable locations (a query may say
``field @trace``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    NamedTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    build_ast_schema,
)

from gateway.supergraph.links import LinkedSpecs
from gateway.supergraph.model import SupergraphError

EXECUTABLE_LOCATIONS = frozenset({
    "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT", "VARIABLE_DEFINITION",
})
"""The directive locations of executable documents (GraphQL spec, ``ExecutableDirectiveLocation``)."""

KEPT_DIRECTIVES = frozenset({"deprecated", "specifiedBy", "oneOf"})
"""Applied directives the API schema keeps (introspection shows them)."""

HIDDEN_ENUM_VALUES = "hidden_values"
"""Key in a ``GraphQLEnumType.extensions`` of the API schema: its ``@inaccessible`` values."""


def build_api_schema(doc: DocumentNode, specs: LinkedSpecs) -> GraphQLSchema:
    """The API schema of the supergraph document ``doc`` (its links read into ``specs``)."""
    try:
        schema = build_ast_schema(api_schema_document(doc, specs))
    except (GraphQLError, TypeError) as exc:
        raise SupergraphError(f"API schema of the supergraph is invalid: {exc}") from exc
    _mark_hidden_enum_values(doc, specs, schema)
    return schema


def _kept(directives: Sequence[Any] | None) -> tuple[Any, ...]:
    return tuple(d for d in directives or () if d.name.value in KEPT_DIRECTIVES)


def _hidden(directives: Iterable[DirectiveNode] | None, specs: LinkedSpecs) -> bool:
    return any(d.name.value in specs.inaccessible for d in directives or ())


def _named(node: TypeNode) -> str:
    while not isinstance(node, NamedTypeNode):
        node = node.type  # type: ignore[attr-defined]
    return node.name.value


def _mark_hidden_enum_values(doc: DocumentNode, specs: LinkedSpecs, api_schema: GraphQLSchema) -> None:
    """Record each API enum's ``@inaccessible`` values on the type.

    A subgraph may legitimately return such a value; clients must see ``null`` without an
    error, since naming the value would reveal what the supergraph hides.
    """
    hidden: dict[str, set[str]] = {}
    for definition in doc.definitions:
        if isinstance(definition, EnumTypeDefinitionNode | EnumTypeExtensionNode):
            for v in definition.values or ():
                if _hidden(v.directives, specs):
                    hidden.setdefault(definition.name.value, set()).add(v.name.value)
    for name, values in hidden.items():
        enum_type = api_schema.type_map.get(name)
        if isinstance(enum_type, GraphQLEnumType):
            enum_type.extensions = {**(enum_type.extensions or {}), HIDDEN_ENUM_VALUES: frozenset(values)}


def api_schema_document(doc: DocumentNode, specs: LinkedSpecs) -> DocumentNode:
    """The API schema as a document, in the supergraph's order."""
    hidden_types: set[str] = set()
    for definition in doc.definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if name is None or isinstance(definition, DirectiveDefinitionNode):
            continue
        if specs.is_machinery_type(name) or _hidden(getattr(definition, "directives", None), specs):
            hidden_types.add(name)

    def input_values(values: Sequence[InputValueDefinitionNode] | None) -> tuple[InputValueDefinitionNode, ...]:
        return tuple(
            dataclasses.replace(v, directives=_kept(v.directives))
            for v in values or ()
            if not _hidden(v.directives, specs) and _named(v.type) not in hidden_types
        )

    out: list[Any] = []
    for definition in doc.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if specs.is_machinery_directive(definition.name.value):
                continue
            locations = tuple(loc for loc in definition.locations if loc.value in EXECUTABLE_LOCATIONS)
            if locations:
                out.append(dataclasses.replace(definition, locations=locations,
                                               arguments=input_values(definition.arguments)))
            continue
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            ops = tuple(o for o in definition.operation_types if _named(o.type) not in hidden_types)
            out.append(dataclasses.replace(definition, directives=(), operation_types=ops))
            continue
        name = getattr(getattr(definition, "name", None), "value", None)
        if name is None or name in hidden_types:
            continue
        changes: dict[str, Any] = {"directives": _kept(definition.directives)}  # type: ignore[attr-defined]
        if isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode
                      | InterfaceTypeDefinitionNode | InterfaceTypeExtensionNode):
            fields = tuple(
                dataclasses.replace(f, directives=_kept(f.directives), arguments=input_values(f.arguments))
                for f in definition.fields or ()
                if not _hidden(f.directives, specs) and _named(f.type) not in hidden_types
            )
            if not fields:
                continue
            changes["fields"] = fields
            changes["interfaces"] = tuple(i for i in definition.interfaces or () if i.name.value not in hidden_types)
        elif isinstance(definition, UnionTypeDefinitionNode | UnionTypeExtensionNode):
            members = tuple(t for t in definition.types or () if t.name.value not in hidden_types)
            if not members:
                continue
            changes["types"] = members
        elif isinstance(definition, EnumTypeDefinitionNode | EnumTypeExtensionNode):
            changes["values"] = tuple(
                dataclasses.replace(v, directives=_kept(v.directives))
                for v in definition.values or ()
                if not _hidden(v.directives, specs)
            )
        elif isinstance(definition, InputObjectTypeDefinitionNode | InputObjectTypeExtensionNode):
            changes["fields"] = input_values(definition.fields)
        out.append(dataclasses.replace(definition, **changes))
    return dataclasses.replace(doc, definitions=tuple(out))
