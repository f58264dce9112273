"""The composer's model of a subgraph schema: plain dataclasses, every federation directive read.

``SubgraphSchema``, ``SubgraphType``, ``SubgraphField`` are subgraph schemas being composed (the
served supergraph's ``Subgraph`` / ``TypeDef`` / ``FieldDef`` live in :mod:`gateway.supergraph.model`).
:mod:`.subgraph` fills them from SDL; this module owns only their shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql.language import DirectiveDefinitionNode

from .typeref import TypeRef

BUILTIN_SCALARS = frozenset({"Int", "Float", "String", "Boolean", "ID"})


@dataclass(frozen=True, slots=True)
class SubgraphSource:
    """A subgraph as a user names it: name, routing URL and SDL text."""

    name: str
    url: str
    sdl: str


@dataclass(frozen=True, slots=True)
class ListSize:
    """``@listSize`` of the cost spec (https://specs.apollo.dev/cost/v0.1) on a list field."""

    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] | None = None
    sized_fields: tuple[str, ...] | None = None
    require_one_slicing_argument: bool | None = True


@dataclass(frozen=True, slots=True)
class JoinDirective:
    """A directive the supergraph keeps per subgraph: ``@join__directive(graphs:, name:, args:)``."""

    name: str  # as the supergraph names it (``federation__cacheTag``)
    args: str  # the arguments as a GraphQL object value, ``{format: "..."}``
    graphs: tuple[str, ...] = ()  # join__Graph values, once merged


@dataclass(slots=True)
class Decorations:
    """What any schema element may carry into the supergraph besides its shape."""

    description: str | None = None
    deprecated: str | None = None
    inaccessible: bool = False
    tags: list[str] = field(default_factory=list)
    authenticated: bool = False
    scopes: list[list[str]] | None = None
    policies: list[list[str]] | None = None
    #: Applications of directives named in ``@composeDirective``, printed, in order.
    composed: list[str] = field(default_factory=list)
    specified_by: str | None = None
    #: ``@cost(weight:)`` and ``@listSize`` (demand control); ``cost_first``: in that order as written.
    cost: int | None = None
    list_size: ListSize | None = None
    cost_first: bool = False
    join_directives: list[JoinDirective] = field(default_factory=list)


@dataclass(slots=True)
class ArgumentDef:
    """A field argument or an input object field."""

    name: str
    type: TypeRef
    default: str | None = None
    deco: Decorations = field(default_factory=Decorations)
    #: ``@fromContext(field: "$ctx { sel }")``: the value comes from a context, not the client.
    from_context: str | None = None


@dataclass(slots=True)
class SubgraphField:
    """A field of an object or interface type, with its federation directives read."""

    name: str
    type: TypeRef
    args: dict[str, ArgumentDef] = field(default_factory=dict)
    deco: Decorations = field(default_factory=Decorations)
    external: bool = False
    requires: str | None = None
    provides: str | None = None
    shareable: bool = False
    override: str | None = None
    override_label: str | None = None


@dataclass(frozen=True, slots=True)
class KeyDef:
    """One ``@key`` of an entity."""

    fields: str
    resolvable: bool = True


@dataclass(slots=True)
class EnumValueDef:
    """One value of an enum type."""

    name: str
    deco: Decorations = field(default_factory=Decorations)


@dataclass(slots=True)
class SubgraphType:
    """A named type as one subgraph defines it (definition and extensions combined)."""

    name: str
    kind: str  # "object" | "interface" | "union" | "enum" | "input" | "scalar"
    deco: Decorations = field(default_factory=Decorations)
    fields: dict[str, SubgraphField] = field(default_factory=dict)
    input_fields: dict[str, ArgumentDef] = field(default_factory=dict)
    keys: list[KeyDef] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, EnumValueDef] = field(default_factory=dict)
    shareable: bool = False
    interface_object: bool = False
    #: Only ``extend type`` (or ``@extends``) in this subgraph: printed as ``extension: true``.
    extension: bool = False
    #: Marked ``@extends`` (which, unlike ``extend type``, survives the Federation 1 upgrade).
    extends_directive: bool = False
    #: Names this type declares with ``@context`` (for ``@fromContext`` arguments).
    contexts: list[str] = field(default_factory=list)
    has_definition: bool = False


@dataclass(slots=True)
class ComposedDirective:
    """A custom directive a subgraph asked to keep with ``@composeDirective``."""

    name: str
    definition: DirectiveDefinitionNode
    link_url: str | None
    link_import: str | None


@dataclass(slots=True)
class SubgraphSchema:
    """A parsed subgraph: types keyed by name, root types renamed to Query/Mutation/Subscription."""

    name: str
    url: str
    fed2: bool
    version: tuple[int, int]
    types: dict[str, SubgraphType] = field(default_factory=dict)
    composed: list[ComposedDirective] = field(default_factory=list)
    #: Directive definitions that are not federation's (kept for executable directives).
    directive_defs: dict[str, DirectiveDefinitionNode] = field(default_factory=dict)

    def entity_keys(self, type_name: str) -> list[KeyDef]:
        """The keys a type has in this subgraph (none for a value type)."""
        t = self.types.get(type_name)
        return t.keys if t else []
