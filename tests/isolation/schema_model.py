"""What the isolation suite must cover, read from the checked-in schemas (``make schema`` writes them).

* the supergraph's root ``Query`` and ``Mutation`` fields, each with the subgraph that resolves it
  (``@join__field(graph: ...)``), as the gateway serves them;
* every subgraph's entity types (``@key``) with their key fields, from ``schema/subgraphs/*.graphql``.

:func:`selection` writes a selection set of every field a type offers (leaf fields, nested objects
to a depth), so a case reads whatever a new field exposes without anyone listing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphql import (
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    StringValueNode,
    TypeNode,
    UnionTypeDefinitionNode,
    parse,
)

ROOT = Path(__file__).resolve().parents[2]
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"
SUBGRAPH_DIR = ROOT / "schema" / "subgraphs"
SUBGRAPHS: tuple[str, ...] = ("identity", "catalog", "templates", "passport")
BUILTIN_SCALARS = frozenset({"ID", "String", "Int", "Float", "Boolean"})
FEDERATION_ROOTS = frozenset({"_entities", "_service"})


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type_name: str  # the named type under lists and non-nulls
    required_args: bool  # True when a call must pass an argument
    graph: str | None  # supergraph: the subgraph resolving it (lower case); None when shared/unknown


@dataclass(frozen=True, slots=True)
class Schema:
    """The object types of one schema (fields by type) and its leaf type names."""

    name: str
    types: dict[str, tuple[Field, ...]]
    leaves: frozenset[str]
    keys: dict[str, tuple[str, ...]]  # entity type -> its @key field sets

    def root(self, operation: str) -> tuple[Field, ...]:
        """Fields of ``Query`` / ``Mutation`` without the federation fields."""
        return tuple(f for f in self.types.get(operation, ()) if f.name not in FEDERATION_ROOTS)


def _named(node: TypeNode) -> str:
    while isinstance(node, (ListTypeNode, NonNullTypeNode)):
        node = node.type
    assert isinstance(node, NamedTypeNode)
    return node.name.value


def _graph(field: FieldDefinitionNode) -> str | None:
    for directive in field.directives or ():
        if directive.name.value == "join__field":
            for arg in directive.arguments or ():
                if arg.name.value == "graph":
                    return str(getattr(arg.value, "value", "")).lower()
    return None


def _inaccessible(field: FieldDefinitionNode) -> bool:
    return any(d.name.value == "inaccessible" for d in field.directives or ())


def _read(name: str, document: DocumentNode) -> Schema:
    types: dict[str, list[Field]] = {}
    leaves = set(BUILTIN_SCALARS)
    keys: dict[str, list[str]] = {}
    for node in document.definitions:
        if isinstance(node, (ScalarTypeDefinitionNode, EnumTypeDefinitionNode)):
            leaves.add(node.name.value)
        elif isinstance(node, (ObjectTypeDefinitionNode, ObjectTypeExtensionNode, InterfaceTypeDefinitionNode)):
            type_name = node.name.value
            if type_name.startswith(("join__", "link__")):
                continue
            fields = types.setdefault(type_name, [])
            for field in node.fields or ():
                if _inaccessible(field):
                    continue
                required = any(
                    isinstance(arg.type, NonNullTypeNode) and arg.default_value is None for arg in field.arguments or ()
                )
                fields.append(Field(field.name.value, _named(field.type), required, _graph(field)))
            for directive in node.directives or ():
                if directive.name.value in ("key", "join__type"):
                    for arg in directive.arguments or ():
                        if arg.name.value in ("fields", "key") and isinstance(arg.value, StringValueNode):
                            keys.setdefault(type_name, []).append(arg.value.value)
        elif isinstance(node, (UnionTypeDefinitionNode, InputObjectTypeDefinitionNode)):
            continue
    return Schema(
        name,
        {k: tuple(v) for k, v in types.items()},
        frozenset(leaves),
        {k: tuple(dict.fromkeys(v)) for k, v in keys.items()},
    )


@cache
def supergraph() -> Schema:
    """The served API's types, read from ``schema/supergraph.graphql``."""
    return _read("gateway", parse(SUPERGRAPH.read_text()))


@cache
def subgraph(name: str) -> Schema:
    """Subgraph ``name``'s SDL as ``make schema`` exported it."""
    return _read(name, parse((SUBGRAPH_DIR / f"{name}.graphql").read_text()))


def selection(schema: Schema, type_name: str, depth: int = 3, *, skip: frozenset[str] = frozenset()) -> str:
    """``{ ... }`` with every argument-free field of ``type_name``: leaves, and objects down to ``depth``.

    Connections are read through ``nodes`` (``edges`` repeat them); ``skip`` names fields left out.
    """
    parts: list[str] = ["__typename"]
    for field in schema.types.get(type_name, ()):
        if field.required_args or field.name in skip or field.name == "edges":
            continue
        if field.type_name in schema.leaves:
            parts.append(field.name)
        elif depth > 0 and field.type_name in schema.types:
            parts.append(f"{field.name} {selection(schema, field.type_name, depth - 1, skip=skip)}")
    return "{ " + " ".join(parts) + " }"
