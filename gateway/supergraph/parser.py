"""Parse a supergraph SDL (join v0.1 - v0.5, Fed 1 and Fed 2) into a :class:`Supergraph`.

The document's links say which names the join, context and authorization specs go by
(:mod:`gateway.supergraph.links`); each directive application is read by its own reader
(:mod:`gateway.supergraph.join`); the API schema is derived by
:mod:`gateway.supergraph.api_schema`.
"""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    parse,
)

from gateway.supergraph.api_schema import HIDDEN_ENUM_VALUES, build_api_schema
from gateway.supergraph.cost import read_cost_annotations
from gateway.supergraph.fieldset import parse_field_set
from gateway.supergraph.join import (
    Graphs,
    JoinNames,
    read_auth,
    read_context,
    read_join_field,
    read_join_graphs,
    read_join_implements,
    read_join_owner,
    read_join_type,
    read_join_union_member,
)
from gateway.supergraph.links import LinkedSpecs, supergraph_specs
from gateway.supergraph.model import FieldDef, FieldInGraph, Supergraph, SupergraphError, TypeDef, TypeInGraph

__all__ = ["HIDDEN_ENUM_VALUES", "parse_field_set", "parse_supergraph", "type_to_str"]

_TYPE_NODES: dict[type, str] = {
    ObjectTypeDefinitionNode: "object",
    ObjectTypeExtensionNode: "object",
    InterfaceTypeDefinitionNode: "interface",
    InterfaceTypeExtensionNode: "interface",
    UnionTypeDefinitionNode: "union",
    UnionTypeExtensionNode: "union",
    EnumTypeDefinitionNode: "enum",
    EnumTypeExtensionNode: "enum",
    InputObjectTypeDefinitionNode: "input",
    InputObjectTypeExtensionNode: "input",
    ScalarTypeDefinitionNode: "scalar",
    ScalarTypeExtensionNode: "scalar",
}


def type_to_str(node: TypeNode) -> str:
    """Print a type reference (``[Int!]!``) without going through ``print_ast``."""
    if isinstance(node, NonNullTypeNode):
        return type_to_str(node.type) + "!"
    if isinstance(node, ListTypeNode):
        return "[" + type_to_str(node.type) + "]"
    assert isinstance(node, NamedTypeNode)
    return node.name.value


def parse_supergraph(sdl: str) -> Supergraph:
    """Parse and check a supergraph SDL; raises :class:`SupergraphError` when it is not one."""
    if not isinstance(sdl, str) or not sdl.strip():
        raise SupergraphError("empty supergraph SDL")
    try:
        doc = parse(sdl, no_location=True)
    except GraphQLError as exc:
        raise SupergraphError(f"supergraph SDL does not parse: {exc.message}") from exc
    specs = supergraph_specs(doc)
    if specs.join is None:
        raise SupergraphError("not a supergraph: no @link (or @core) to the join spec")
    names = JoinNames(specs.join)
    graphs = read_join_graphs(doc, names)
    reader = _TypeReader(specs, names, graphs)
    reader.read(doc)
    api_schema = build_api_schema(doc, specs)
    q = api_schema.query_type
    if q is None:
        raise SupergraphError("supergraph has no query root type")
    m = api_schema.mutation_type
    s = api_schema.subscription_type
    return Supergraph(
        subgraphs=graphs.subgraphs,
        types=reader.types,
        api_schema=api_schema,
        query_type=q.name,
        mutation_type=m.name if m else None,
        subscription_type=s.name if s else None,
        graph_order={n: i for i, n in enumerate(graphs.subgraphs)},
        contexts=reader.contexts,
        policy_names=reader.policy_names(),
        cost=read_cost_annotations(doc),
    )


class _TypeReader:
    """The types of a supergraph document with their per-subgraph facts, directive by directive."""

    def __init__(self, specs: LinkedSpecs, names: JoinNames, graphs: Graphs) -> None:
        self.specs = specs
        self.names = names
        self.graphs = graphs
        self.types: dict[str, TypeDef] = {}
        self.contexts: dict[str, set[str]] = {}
        self.any_implements = False
        self.any_members = False
        self._on_type: dict[str, Callable[[TypeDef, DirectiveNode], None]] = {
            names.type: lambda td, d: read_join_type(td, d, graphs),
            names.implements: self._implements,
            names.union_member: self._union_member,
        }

    def _implements(self, td: TypeDef, d: DirectiveNode) -> None:
        self.any_implements = True
        read_join_implements(td, d, self.graphs)

    def _union_member(self, td: TypeDef, d: DirectiveNode) -> None:
        self.any_members = True
        read_join_union_member(td, d, self.graphs)

    def read(self, doc: DocumentNode) -> None:
        for definition in doc.definitions:
            kind = _TYPE_NODES.get(type(definition))
            if kind is not None and not self.specs.is_machinery_type(definition.name.value):  # type: ignore[attr-defined]
                self._read_type(definition, kind)
        # once one subgraph lists implementations (members), a type without any has none there
        if self.any_implements:
            for td in self.types.values():
                if td.kind in ("object", "interface") and td.implements is None:
                    td.implements = {}
        if self.any_members:
            for td in self.types.values():
                if td.kind == "union" and td.members is None:
                    td.members = {}

    def _read_type(self, definition: object, kind: str) -> None:
        specs = self.specs
        name = definition.name.value  # type: ignore[attr-defined]
        td = self.types.get(name)
        if td is None:
            td = self.types[name] = TypeDef(name=name, kind=kind)
        owner: str | None = None
        for d in definition.directives or ():  # type: ignore[attr-defined]
            dn = d.name.value
            on_type = self._on_type.get(dn)
            if on_type is not None:
                on_type(td, d)
            elif dn in specs.auth:
                td.auth = read_auth(td.auth, specs.auth[dn], d)
            elif dn == specs.context and specs.context:
                read_context(self.contexts, td, d)
            elif dn == self.names.owner:
                owner = read_join_owner(td, d, self.graphs)
        if owner is not None and owner not in td.graphs:
            td.graphs[owner] = TypeInGraph(graph=owner)
        if not td.graphs:
            td.everywhere = True
        if kind in ("object", "interface"):
            for fnode in getattr(definition, "fields", None) or ():
                td.fields[fnode.name.value] = self._read_field(name, fnode, owner)
        if owner is not None:
            _fed1_key_fields(td)

    def _read_field(self, parent: str, fnode: object, owner: str | None) -> FieldDef:
        fd = FieldDef(name=fnode.name.value, parent=parent, type=type_to_str(fnode.type))  # type: ignore[attr-defined]
        for d in fnode.directives or ():  # type: ignore[attr-defined]
            if d.name.value in self.specs.auth:
                fd.auth = read_auth(fd.auth, self.specs.auth[d.name.value], d)
            elif d.name.value == self.names.field:
                read_join_field(fd, d, self.graphs)
        if fd.graphs is not None:
            fd.no_graph = False
        if owner is not None and fd.graphs is None:
            # Fed 1: fields without @join__field belong to the owner; extension fields list their graph
            fd.graphs = {owner: FieldInGraph(graph=owner)}
        return fd

    def policy_names(self) -> frozenset[str]:
        """Every policy an ``@policy`` of the supergraph names."""
        types = self.types.values()
        return frozenset(
            name
            for reqs in (*(t.auth for t in types), *(f.auth for t in types for f in t.fields.values()))
            if reqs is not None and reqs.policies is not None
            for alternative in reqs.policies
            for name in alternative
        )


def _fed1_key_fields(td: TypeDef) -> None:
    """Fed 1: a subgraph extending an entity declares its key fields @external, yet it returns
    them for its own references; join v0.1 only lists them on the owner."""
    for g, tg in td.graphs.items():
        for key in tg.keys:
            for sel in key.selection.selections:
                if not isinstance(sel, FieldNode):
                    continue
                key_field = td.fields.get(sel.name.value)
                if key_field is not None and key_field.graphs is not None and g not in key_field.graphs:
                    key_field.graphs[g] = FieldInGraph(graph=g)
