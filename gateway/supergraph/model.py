"""The supergraph model: which subgraph can resolve which type and field, and how.

Everything here is read once from the supergraph SDL and never changes
afterwards; the planner asks it questions such as "can subgraph X resolve
``Product.price``?" or "which keys of ``Product`` can subgraph Y resolve?".

The served world: ``Subgraph`` is a ``@join__graph`` (name, url), ``TypeDef`` / ``FieldDef`` a
supergraph type / field with its per-subgraph facts. The composer's counterparts are
``gateway.composition``'s ``SubgraphSchema``, ``SubgraphType``, ``SubgraphField`` and
``ComposedSupergraph``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    SelectionSetNode,
    is_abstract_type,
)

from .cost import CostAnnotations


class SupergraphError(ValueError):
    """The supergraph SDL is not a valid (or supported) supergraph."""


@dataclass(frozen=True, slots=True)
class AuthRequirements:
    """The ``@authenticated`` / ``@requiresScopes`` / ``@policy`` a type or field carries.

    ``scopes`` and ``policies`` are in disjunctive normal form, as the directives write
    them: the caller must hold every name of at least one alternative. ``None`` means
    no such directive (an empty outer list counts as none, as in Apollo Router).
    """

    authenticated: bool = False
    scopes: tuple[frozenset[str], ...] | None = None
    policies: tuple[frozenset[str], ...] | None = None

    def __bool__(self) -> bool:
        return self.authenticated or self.scopes is not None or self.policies is not None


@dataclass(frozen=True, slots=True)
class Subgraph:
    """One subgraph as declared by ``@join__graph``."""

    name: str
    enum_value: str
    url: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One ``@key`` of an entity in one subgraph (from ``@join__type``)."""

    fields: str
    selection: SelectionSetNode
    resolvable: bool


@dataclass(slots=True)
class TypeInGraph:
    """How one subgraph defines a type (from ``@join__type``)."""

    graph: str
    keys: list[KeyInfo] = field(default_factory=list)
    extension: bool = False
    is_interface_object: bool = False


@dataclass(frozen=True, slots=True)
class ContextArgument:
    """An argument a subgraph takes from an ancestor's fields (``@fromContext``, join v0.5)."""

    context: str  # the context name set by @context on ancestor types
    name: str  # the argument's name in the subgraph
    type: str  # its GraphQL type
    selection: SelectionSetNode  # what to read on the ancestor


@dataclass(frozen=True, slots=True)
class FieldInGraph:
    """How one subgraph defines a field (from ``@join__field``)."""

    graph: str
    external: bool = False
    requires: SelectionSetNode | None = None
    provides: SelectionSetNode | None = None
    type: str | None = None
    override: str | None = None
    used_overridden: bool = False
    override_label: str | None = None
    context_arguments: tuple[ContextArgument, ...] = ()

    @property
    def inactive(self) -> bool:
        """Not to be used for resolving: overridden by another subgraph, or taking over from one
        only behind a progressive-override label (labels are off unless configured, as in
        Apollo Router; the original subgraph keeps the field)."""
        return self.used_overridden or (self.override is not None and self.override_label is not None)


@dataclass(slots=True)
class FieldDef:
    """A field of an object or interface type of the supergraph."""

    name: str
    parent: str
    type: str
    # ``None``: no ``@join__field`` at all, the field lives in every subgraph of its type.
    graphs: dict[str, FieldInGraph] | None = None
    # A bare ``@join__field`` (no graph): only reachable through an @interfaceObject.
    no_graph: bool = False
    # @authenticated / @requiresScopes / @policy on the field (None: none)
    auth: AuthRequirements | None = None


@dataclass(slots=True)
class TypeDef:
    """A named type of the supergraph with its per-subgraph facts."""

    name: str
    kind: str  # object | interface | union | enum | input | scalar
    graphs: dict[str, TypeInGraph] = field(default_factory=dict)
    fields: dict[str, FieldDef] = field(default_factory=dict)
    # object types: graph -> interfaces implemented there (None: no @join__implements seen)
    implements: dict[str, set[str]] | None = None
    # unions: graph -> members there (None: no @join__unionMember seen)
    members: dict[str, set[str]] | None = None
    # all subgraphs when the type carries no @join__type at all (Fed 1 value types)
    everywhere: bool = False
    # @authenticated / @requiresScopes / @policy on the type (None: none)
    auth: AuthRequirements | None = None


@dataclass(slots=True)
class Supergraph:
    """A parsed supergraph: subgraphs, per-subgraph type facts and the API schema."""

    subgraphs: dict[str, Subgraph]  # by subgraph name, in declaration order
    types: dict[str, TypeDef]
    api_schema: GraphQLSchema
    query_type: str | None
    mutation_type: str | None
    subscription_type: str | None
    graph_order: dict[str, int] = field(default_factory=dict)
    # @context name -> the types (as written) that set it
    contexts: dict[str, set[str]] = field(default_factory=dict)
    # every policy any @policy of the supergraph names
    policy_names: frozenset[str] = frozenset()
    # @cost / @listSize of the cost spec (demand control, gateway/cost)
    cost: CostAnnotations = field(default_factory=CostAnnotations)

    # -- types -------------------------------------------------------------------------

    def kind(self, type_name: str) -> str:
        """``object``, ``interface`` or ``union`` as the API schema has it, else the supergraph's kind
        (``enum``, ``input``, ``scalar``; ``scalar`` for a name it does not know)."""
        t = self.api_schema.get_type(type_name)
        if isinstance(t, GraphQLObjectType):
            return "object"
        if isinstance(t, GraphQLInterfaceType):
            return "interface"
        if isinstance(t, GraphQLUnionType):
            return "union"
        td = self.types.get(type_name)
        return td.kind if td is not None else "scalar"

    def is_composite(self, type_name: str) -> bool:
        """Whether values of ``type_name`` have a selection set (object, interface, union)."""
        return self.kind(type_name) in ("object", "interface", "union")

    def api_possible_types(self, type_name: str) -> list[str]:
        """The object types a value of ``type_name`` may have in the API schema (itself for an object)."""
        t = self.api_schema.get_type(type_name)
        if t is None:
            return []
        if isinstance(t, GraphQLObjectType):
            return [t.name]
        if is_abstract_type(t):
            return [o.name for o in self.api_schema.get_possible_types(t)]  # type: ignore[arg-type]
        return []

    def applies(self, type_condition: str | None, type_name: str) -> bool:
        """Whether a fragment on ``type_condition`` (``None``: no condition) applies to objects of
        ``type_name``."""
        if type_condition is None or type_condition == type_name:
            return True
        return type_name in self.api_possible_types(type_condition)

    def type_in_graph(self, type_name: str, graph: str) -> bool:
        """Whether ``graph`` defines ``type_name``."""
        t = self.types.get(type_name)
        if t is None:
            return False
        return t.everywhere or graph in t.graphs

    def is_interface_object(self, type_name: str, graph: str) -> bool:
        """Whether ``graph`` defines the API interface ``type_name`` as an @interfaceObject."""
        t = self.types.get(type_name)
        if t is None:
            return False
        tg = t.graphs.get(graph)
        return tg is not None and tg.is_interface_object

    def graphs_of_type(self, type_name: str) -> list[str]:
        """The subgraphs defining ``type_name``, in declaration order."""
        t = self.types.get(type_name)
        if t is None:
            return []
        if t.everywhere:
            return list(self.subgraphs)
        return [g for g in self.subgraphs if g in t.graphs]

    def resolvable_keys(self, type_name: str, graph: str) -> list[KeyInfo]:
        """The keys by which ``graph`` can resolve ``type_name`` through ``_entities``."""
        t = self.types.get(type_name)
        if t is None:
            return []
        tg = t.graphs.get(graph)
        if tg is None:
            return []
        return [k for k in tg.keys if k.resolvable]

    def possible_types_in_graph(self, abstract: str, graph: str) -> list[str]:
        """Object types that ``graph`` may return for the abstract type ``abstract``."""
        schema = self.api_schema
        t = schema.get_type(abstract)
        if t is None:
            return []
        api_possible = [o.name for o in schema.get_possible_types(t)]  # type: ignore[arg-type]
        td = self.types.get(abstract)
        out: list[str] = []
        for name in api_possible:
            if not self.type_in_graph(name, graph):
                continue
            obj = self.types.get(name)
            if td is not None and td.kind == "union":
                if td.members is not None and name not in td.members.get(graph, set()):
                    continue
            elif obj is not None and obj.implements is not None:
                if abstract not in obj.implements.get(graph, set()):
                    continue
            out.append(name)
        return out

    # -- fields ------------------------------------------------------------------------

    def field_def(self, type_name: str, field_name: str) -> FieldDef | None:
        """The supergraph definition of ``type_name.field_name``."""
        t = self.types.get(type_name)
        if t is None:
            return None
        return t.fields.get(field_name)

    def field_in_graph(self, type_name: str, field_name: str, graph: str) -> FieldInGraph | None:
        """The facts of the field in ``graph`` if ``graph`` defines it at all (external included)."""
        fd = self.field_def(type_name, field_name)
        if fd is None or fd.no_graph:
            return None
        if fd.graphs is None:
            if self.type_in_graph(type_name, graph):
                return FieldInGraph(graph=graph)
            return None
        return fd.graphs.get(graph)

    def can_resolve(self, type_name: str, field_name: str, graph: str) -> bool:
        """Whether ``graph`` resolves the field itself (defined there, not external, not overridden)."""
        fg = self.field_in_graph(type_name, field_name, graph)
        if fg is None:
            return False
        return not fg.external and not fg.inactive

    def resolving_graphs(self, type_name: str, field_name: str) -> list[str]:
        """Subgraphs that resolve the field, in declaration order."""
        return [g for g in self.subgraphs if self.can_resolve(type_name, field_name, g)]
