"""The composed supergraph as data: merged types plus the ``@join__*`` facts per subgraph.

The composer's world (``ComposedSupergraph``, ``SType``, ``ComposedContextArgument``): what the
merge builds and the printer writes. The supergraph being served is read back from that text
into :mod:`gateway.supergraph.model` (``Supergraph``, ``TypeDef``, ``FieldDef``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql.language import DirectiveDefinitionNode

from .subgraph_model import Decorations
from .typeref import TypeRef


@dataclass(frozen=True, slots=True)
class ComposedContextArgument:
    """An argument a subgraph fills from a ``@context`` (``join__ContextArgument``)."""

    context: str
    name: str
    type: str
    selection: str


@dataclass(slots=True)
class JoinField:
    """One ``@join__field``: how one subgraph (or none: ``graph=None``) resolves a field."""

    graph: str | None
    requires: str | None = None
    provides: str | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    override_label: str | None = None
    context_arguments: list[ComposedContextArgument] = field(default_factory=list)


@dataclass(slots=True)
class JoinType:
    """One ``@join__type``: a subgraph defines the type (with one of its keys, if any)."""

    graph: str
    key: str | None = None
    extension: bool = False
    resolvable: bool = True
    is_interface_object: bool = False


@dataclass(slots=True)
class SArgument:
    """A merged argument or input field."""

    name: str
    type: TypeRef
    default: str | None = None
    deco: Decorations = field(default_factory=Decorations)
    joins: list[JoinField] = field(default_factory=list)


@dataclass(slots=True)
class SField:
    """A merged output field."""

    name: str
    type: TypeRef
    args: dict[str, SArgument] = field(default_factory=dict)
    deco: Decorations = field(default_factory=Decorations)
    joins: list[JoinField] = field(default_factory=list)
    #: Subgraphs (names) that resolve the field: defined there and neither external nor overridden.
    resolved_in: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SEnumValue:
    """A merged enum value and the graphs that define it."""

    name: str
    deco: Decorations = field(default_factory=Decorations)
    graphs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SType:
    """A merged named type."""

    name: str
    kind: str
    deco: Decorations = field(default_factory=Decorations)
    join_types: list[JoinType] = field(default_factory=list)
    fields: dict[str, SField] = field(default_factory=dict)
    input_fields: dict[str, SArgument] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    implements: list[tuple[str, str]] = field(default_factory=list)  # (graph, interface)
    members: list[str] = field(default_factory=list)
    union_members: list[tuple[str, str]] = field(default_factory=list)  # (graph, member)
    values: dict[str, SEnumValue] = field(default_factory=dict)
    #: ``@context`` names, qualified by subgraph (``subgraph__name``).
    contexts: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Graph:
    """A ``join__Graph`` value: enum name, subgraph name, routing URL."""

    enum: str
    name: str
    url: str


@dataclass(slots=True)
class SDirective:
    """A non-federation directive definition the supergraph keeps, and the ``@link`` it came with."""

    definition: DirectiveDefinitionNode
    link_url: str | None = None
    link_import: str | None = None
    #: For plain executable directives: the locations every subgraph accepts.
    locations: list[str] | None = None


@dataclass(slots=True)
class ComposedSupergraph:
    """Everything the printer needs to write the supergraph SDL."""

    graphs: list[Graph]
    types: dict[str, SType]
    roots: dict[str, str]  # operation kind -> type name
    directives: dict[str, SDirective] = field(default_factory=dict)

    def graph_enum(self, subgraph: str) -> str:
        """The ``join__Graph`` value of a subgraph."""
        for g in self.graphs:
            if g.name == subgraph:
                return g.enum
        raise KeyError(subgraph)

    def subgraph_names(self) -> dict[str, str]:
        """``join__Graph`` value -> subgraph name (the inverse of :meth:`graph_enum`)."""
        return {g.enum: g.name for g in self.graphs}

    def type_subgraphs(self, t: SType) -> tuple[str, ...]:
        """Names of the subgraphs that define a merged type (from its ``@join__type``s)."""
        by_enum = self.subgraph_names()
        return tuple(dict.fromkeys(by_enum[j.graph] for j in t.join_types if j.graph in by_enum))

    def field_subgraphs(self, t: SType, f: SField) -> tuple[str, ...]:
        """Names of the subgraphs that define a merged field (all of the type's when no ``@join__field``)."""
        by_enum = self.subgraph_names()
        graphs = [j.graph for j in f.joins if j.graph is not None]
        if not graphs:
            return self.type_subgraphs(t)
        return tuple(dict.fromkeys(by_enum[g] for g in graphs if g in by_enum))
