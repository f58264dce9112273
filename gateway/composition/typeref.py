"""GraphQL type references (``[Int!]!``) as small immutable values, and the subtyping rules
composition uses to merge the types one field has in several subgraphs."""

from __future__ import annotations

from dataclasses import dataclass

from graphql.language import ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A wrapped or named type. Exactly one of ``name`` (named) or ``of_type`` (wrapper) is set."""

    kind: str  # "named" | "list" | "non_null"
    name: str | None = None
    of_type: TypeRef | None = None

    def __str__(self) -> str:
        if self.kind == "named":
            return str(self.name)
        if self.kind == "list":
            return f"[{self.of_type}]"
        return f"{self.of_type}!"

    @property
    def named(self) -> str:
        """The innermost named type."""
        t: TypeRef = self
        while t.kind != "named":
            assert t.of_type is not None
            t = t.of_type
        return str(t.name)

    @property
    def nullable(self) -> TypeRef:
        """This type without its outer non-null wrapper."""
        if self.kind == "non_null":
            assert self.of_type is not None
            return self.of_type
        return self

    def is_non_null(self) -> bool:
        """Whether the outermost wrapper is non-null."""
        return self.kind == "non_null"

    def is_list(self) -> bool:
        """Whether the type (ignoring an outer non-null) is a list."""
        return self.nullable.kind == "list"

    def renamed(self, mapping: dict[str, str]) -> TypeRef:
        """The same wrappers around a renamed named type (root types are renamed to Query ...)."""
        if self.kind == "named":
            return TypeRef("named", name=mapping.get(str(self.name), self.name))
        assert self.of_type is not None
        return TypeRef(self.kind, of_type=self.of_type.renamed(mapping))


def named(name: str) -> TypeRef:
    """A named type reference."""
    return TypeRef("named", name=name)


def from_ast(node: TypeNode) -> TypeRef:
    """Convert a graphql-core type node."""
    if isinstance(node, NonNullTypeNode):
        return TypeRef("non_null", of_type=from_ast(node.type))
    if isinstance(node, ListTypeNode):
        return TypeRef("list", of_type=from_ast(node.type))
    assert isinstance(node, NamedTypeNode)
    return TypeRef("named", name=node.name.value)


def parse_type(text: str) -> TypeRef:
    """Parse ``[Int!]!`` notation."""
    text = text.strip()
    if text.endswith("!"):
        return TypeRef("non_null", of_type=parse_type(text[:-1]))
    if text.startswith("["):
        return TypeRef("list", of_type=parse_type(text[1:-1]))
    return named(text)
