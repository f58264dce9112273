"""Parse a supergraph SDL (join v0.1 - v0.5, Fed 1 and Fed 2) into a :class:`Supergraph`.

The API schema is derived on the AST: every element of a linked spec (join, link,
core, inaccessible, tag, ...) is dropped, and so is everything marked
``@inaccessible``; descriptions, deprecations, ``@specifiedBy`` and ``@oneOf``
stay, because introspection must show them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    OperationDefinitionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    SelectionSetNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    build_ast_schema,
    parse,
)

from gateway.sdl_values import directive_arguments
from gateway.supergraph.model import (
    AuthRequirements,
    ContextArgument,
    FieldDef,
    FieldInGraph,
    KeyInfo,
    Subgraph,
    Supergraph,
    SupergraphError,
    TypeDef,
    TypeInGraph,
)

_AUTH_SPECS = frozenset({"authenticated", "requiresScopes", "policy"})

_SPEC_URL = re.compile(r"/([A-Za-z_][A-Za-z0-9_]*)/v(\d+)\.(\d+)/?$")

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


def parse_field_set(fields: str) -> SelectionSetNode:
    """Parse a federation field set (``"id organization { id }"``) into a selection set."""
    try:
        doc = parse("{" + fields + "}", no_location=True)
    except GraphQLError as exc:
        raise SupergraphError(f"invalid field set {fields!r}: {exc.message}") from exc
    op = doc.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    return op.selection_set


def _unbrace(text: str) -> str:
    """A context selection is written ``{ prop }``; field sets have no outer braces."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        return text[1:-1]
    return text


@dataclasses.dataclass(slots=True)
class _Specs:
    """Which names belong to linked specs (machinery to hide from the API schema)."""

    join: str | None = None
    join_version: tuple[int, int] = (0, 0)
    context: str | None = None  # the name @context goes by (context spec prefix)
    # the names @authenticated, @requiresScopes and @policy go by (their specs' prefixes)
    auth: dict[str, str] = dataclasses.field(default_factory=dict)
    inaccessible: set[str] = dataclasses.field(default_factory=set)
    prefixes: set[str] = dataclasses.field(default_factory=set)
    directive_names: set[str] = dataclasses.field(default_factory=set)
    type_names: set[str] = dataclasses.field(default_factory=set)
    # directives @link-ed from specs outside specs.apollo.dev (brought in by @composeDirective):
    # their executable definitions are the subgraphs' own API, so the API schema keeps them
    custom_directives: set[str] = dataclasses.field(default_factory=set)

    def is_machinery_directive(self, name: str) -> bool:
        return name in self.directive_names or (name.split("__", 1)[0] in self.prefixes and "__" in name)

    def is_machinery_type(self, name: str) -> bool:
        return name in self.type_names or ("__" in name and name.split("__", 1)[0] in self.prefixes)


def _is_apollo_spec(url: str) -> bool:
    """True for the federation machinery specs (link, join, inaccessible, tag, ...)."""
    return "//specs.apollo.dev/" in url


def _read_specs(doc: DocumentNode) -> _Specs:
    specs = _Specs()
    for definition in doc.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for d in definition.directives or ():
            if d.name.value not in ("link", "core"):
                continue
            args = directive_arguments(d)
            url = args.get("url") or args.get("feature")
            if not isinstance(url, str):
                continue
            m = _SPEC_URL.search(url)
            if m is None:
                continue
            spec_name, major, minor = m.group(1), int(m.group(2)), int(m.group(3))
            prefix = args.get("as") or spec_name
            specs.prefixes.add(prefix)
            specs.directive_names.add(prefix)
            if spec_name == "link" or spec_name == "core":
                specs.directive_names.update({"link", "core"})
            if spec_name == "context":
                specs.context = prefix
            if spec_name in _AUTH_SPECS:
                specs.auth[prefix] = spec_name
            if spec_name == "join":
                specs.join = prefix
                specs.join_version = (major, minor)
            imports = args.get("import") or []
            imported_inaccessible: str | None = None
            for imp in imports:
                if isinstance(imp, str):
                    name, alias = imp, imp
                elif isinstance(imp, dict):
                    name, alias = imp.get("name", ""), imp.get("as") or imp.get("name", "")
                else:
                    continue
                if name.startswith("@"):
                    specs.directive_names.add(alias.lstrip("@"))
                    if not _is_apollo_spec(url):
                        specs.custom_directives.add(alias.lstrip("@"))
                    if spec_name == "inaccessible" and name == "@inaccessible":
                        imported_inaccessible = alias.lstrip("@")
                else:
                    specs.type_names.add(alias)
            if spec_name == "inaccessible":
                specs.inaccessible.add(imported_inaccessible or prefix)
    specs.type_names.update({"link__Import", "link__Purpose", "core__Purpose"})
    return specs


def parse_supergraph(sdl: str) -> Supergraph:
    """Parse and check a supergraph SDL; raises :class:`SupergraphError` when it is not one."""
    if not isinstance(sdl, str) or not sdl.strip():
        raise SupergraphError("empty supergraph SDL")
    try:
        doc = parse(sdl, no_location=True)
    except GraphQLError as exc:
        raise SupergraphError(f"supergraph SDL does not parse: {exc.message}") from exc
    specs = _read_specs(doc)
    if specs.join is None:
        raise SupergraphError("not a supergraph: no @link (or @core) to the join spec")
    jp = specs.join
    d_graph, d_type, d_field = f"{jp}__graph", f"{jp}__type", f"{jp}__field"
    d_owner, d_impl, d_member = f"{jp}__owner", f"{jp}__implements", f"{jp}__unionMember"

    # -- subgraphs -----------------------------------------------------------------------
    subgraphs: dict[str, Subgraph] = {}
    by_enum: dict[str, str] = {}
    for definition in doc.definitions:
        if isinstance(definition, EnumTypeDefinitionNode) and definition.name.value == f"{jp}__Graph":
            for v in definition.values or ():
                for d in v.directives or ():
                    if d.name.value == d_graph:
                        a = directive_arguments(d)
                        name = a.get("name") or v.name.value.lower()
                        sg = Subgraph(name=name, enum_value=v.name.value, url=a.get("url") or "")
                        subgraphs[name] = sg
                        by_enum[v.name.value] = name
    if not subgraphs:
        raise SupergraphError(f"supergraph declares no subgraph (enum {jp}__Graph with @{d_graph})")

    def graph_of(value: Any, where: str) -> str:
        if value not in by_enum:
            raise SupergraphError(f"{where} names unknown graph {value!r}")
        return by_enum[value]

    # -- types -----------------------------------------------------------------------------
    types: dict[str, TypeDef] = {}
    contexts: dict[str, set[str]] = {}
    any_implements = False
    any_members = False
    for definition in doc.definitions:
        kind = _TYPE_NODES.get(type(definition))
        if kind is None:
            continue
        name = definition.name.value  # type: ignore[attr-defined]
        if specs.is_machinery_type(name):
            continue
        td = types.get(name)
        if td is None:
            td = types[name] = TypeDef(name=name, kind=kind)
        owner: str | None = None
        for d in definition.directives or ():  # type: ignore[attr-defined]
            dn = d.name.value
            if dn == d_type:
                a = directive_arguments(d)
                g = graph_of(a.get("graph"), f"@{d_type} on {name}")
                tg = td.graphs.get(g)
                if tg is None:
                    tg = td.graphs[g] = TypeInGraph(graph=g)
                key = a.get("key")
                if key:
                    tg.keys.append(
                        KeyInfo(fields=key, selection=parse_field_set(key), resolvable=a.get("resolvable", True))
                    )
                if a.get("extension"):
                    tg.extension = True
                if a.get("isInterfaceObject"):
                    tg.is_interface_object = True
            elif dn in specs.auth:
                td.auth = _auth_requirements(td.auth, specs.auth[dn], d) or None
            elif dn == specs.context and specs.context:
                contexts.setdefault(directive_arguments(d).get("name", ""), set()).add(name)
            elif dn == d_owner:
                owner = graph_of(directive_arguments(d).get("graph"), f"@{d_owner} on {name}")
            elif dn == d_impl:
                any_implements = True
                a = directive_arguments(d)
                g = graph_of(a.get("graph"), f"@{d_impl} on {name}")
                if td.implements is None:
                    td.implements = {}
                td.implements.setdefault(g, set()).add(a.get("interface", ""))
            elif dn == d_member:
                any_members = True
                a = directive_arguments(d)
                g = graph_of(a.get("graph"), f"@{d_member} on {name}")
                if td.members is None:
                    td.members = {}
                td.members.setdefault(g, set()).add(a.get("member", ""))
        if owner is not None and owner not in td.graphs:
            td.graphs[owner] = TypeInGraph(graph=owner)
        if not td.graphs:
            td.everywhere = True
        for fnode in getattr(definition, "fields", None) or ():
            if kind not in ("object", "interface"):
                continue
            fd = FieldDef(name=fnode.name.value, parent=name, type=type_to_str(fnode.type))
            for d in fnode.directives or ():
                if d.name.value in specs.auth:
                    fd.auth = _auth_requirements(fd.auth, specs.auth[d.name.value], d) or None
                    continue
                if d.name.value != d_field:
                    continue
                a = directive_arguments(d)
                if a.get("graph") is None:
                    fd.no_graph = True
                    continue
                g = graph_of(a.get("graph"), f"@{d_field} on {name}.{fd.name}")
                if fd.graphs is None:
                    fd.graphs = {}
                fd.graphs[g] = FieldInGraph(
                    graph=g,
                    external=bool(a.get("external")),
                    requires=parse_field_set(a["requires"]) if a.get("requires") else None,
                    provides=parse_field_set(a["provides"]) if a.get("provides") else None,
                    type=a.get("type"),
                    override=a.get("override"),
                    used_overridden=bool(a.get("usedOverridden")),
                    override_label=a.get("overrideLabel"),
                    context_arguments=tuple(
                        ContextArgument(
                            context=c.get("context", ""),
                            name=c.get("name", ""),
                            type=c.get("type", ""),
                            selection=parse_field_set(_unbrace(c.get("selection", ""))),
                        )
                        for c in a.get("contextArguments") or ()
                        if isinstance(c, dict)
                    ),
                )
            if fd.graphs is not None:
                fd.no_graph = False
            if owner is not None:
                # Fed 1: fields without @join__field belong to the owner; extension fields list their graph
                if fd.graphs is None:
                    fd.graphs = {owner: FieldInGraph(graph=owner)}
            td.fields[fd.name] = fd
        if owner is not None:
            # Fed 1: a subgraph extending an entity declares its key fields @external, yet it
            # returns them for its own references; join v0.1 only lists them on the owner
            for g, tg in td.graphs.items():
                for key in tg.keys:
                    for sel in key.selection.selections:
                        if not isinstance(sel, FieldNode):
                            continue
                        key_field = td.fields.get(sel.name.value)
                        if key_field is not None and key_field.graphs is not None and g not in key_field.graphs:
                            key_field.graphs[g] = FieldInGraph(graph=g)
    if any_implements:
        for td in types.values():
            if td.kind in ("object", "interface") and td.implements is None:
                td.implements = {}
    if any_members:
        for td in types.values():
            if td.kind == "union" and td.members is None:
                td.members = {}

    policy_names = frozenset(
        name
        for reqs in (*(t.auth for t in types.values()), *(f.auth for t in types.values() for f in t.fields.values()))
        if reqs is not None and reqs.policies is not None
        for alternative in reqs.policies
        for name in alternative
    )
    api_doc = derive_api_document(doc, specs)
    try:
        api_schema = build_ast_schema(api_doc)
    except (GraphQLError, TypeError) as exc:
        raise SupergraphError(f"API schema of the supergraph is invalid: {exc}") from exc
    _mark_hidden_enum_values(doc, specs, api_schema)
    q = api_schema.query_type
    if q is None:
        raise SupergraphError("supergraph has no query root type")
    m = api_schema.mutation_type
    s = api_schema.subscription_type
    return Supergraph(
        subgraphs=subgraphs,
        types=types,
        api_schema=api_schema,
        query_type=q.name,
        mutation_type=m.name if m else None,
        subscription_type=s.name if s else None,
        graph_order={n: i for i, n in enumerate(subgraphs)},
        contexts=contexts,
        policy_names=policy_names,
    )


def _auth_requirements(current: AuthRequirements | None, spec: str, d: DirectiveNode) -> AuthRequirements:
    """Add one ``@authenticated`` / ``@requiresScopes`` / ``@policy`` application to ``current``.

    A repeated directive on one element (not composed output, but legal SDL) ANDs with
    the earlier one, as requirements from several subgraphs do.
    """
    cur = current or AuthRequirements()
    if spec == "authenticated":
        return dataclasses.replace(cur, authenticated=True)
    arg = "scopes" if spec == "requiresScopes" else "policies"
    value = directive_arguments(d).get(arg)
    dnf = tuple(
        frozenset(str(x) for x in alt) for alt in (value if isinstance(value, list) else ()) if isinstance(alt, list)
    )
    if not dnf:
        return cur  # an empty outer list asks for nothing (Apollo Router treats it so)
    before = cur.scopes if spec == "requiresScopes" else cur.policies
    if before is not None:
        dnf = tuple(dict.fromkeys(a | b for a in before for b in dnf))
    if spec == "requiresScopes":
        return dataclasses.replace(cur, scopes=dnf)
    return dataclasses.replace(cur, policies=dnf)


# -- API schema derivation ---------------------------------------------------------------


_EXECUTABLE_LOCATIONS = frozenset({
    "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT", "VARIABLE_DEFINITION",
})


def _strip(directives: Sequence[Any] | None, specs: _Specs) -> tuple[Any, ...]:
    return tuple(d for d in directives or () if not specs.is_machinery_directive(d.name.value))


def _hidden(directives: Iterable[DirectiveNode] | None, specs: _Specs) -> bool:
    return any(d.name.value in specs.inaccessible for d in directives or ())


def _named(node: TypeNode) -> str:
    while not isinstance(node, NamedTypeNode):
        node = node.type  # type: ignore[attr-defined]
    return node.name.value


HIDDEN_ENUM_VALUES = "hidden_values"
"""Key in a ``GraphQLEnumType.extensions`` of the API schema: its ``@inaccessible`` values."""


def _mark_hidden_enum_values(doc: DocumentNode, specs: _Specs, api_schema: GraphQLSchema) -> None:
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


def derive_api_document(doc: DocumentNode, specs: _Specs) -> DocumentNode:
    """The API schema as a document: no spec machinery, nothing ``@inaccessible``."""
    hidden_types: set[str] = set()
    for definition in doc.definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if name is None:
            continue
        if isinstance(definition, DirectiveDefinitionNode):
            continue
        if specs.is_machinery_type(name) or _hidden(getattr(definition, "directives", None), specs):
            hidden_types.add(name)

    out: list[Any] = []
    for definition in doc.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if definition.name.value in specs.custom_directives:
                # a composed custom directive: clients may use it where it is executable
                # (a query may say ``field @access``); its type-system uses stay hidden
                locations = tuple(loc for loc in definition.locations if loc.value in _EXECUTABLE_LOCATIONS)
                if locations:
                    out.append(dataclasses.replace(definition, locations=locations))
                continue
            if specs.is_machinery_directive(definition.name.value):
                continue
            out.append(definition)
            continue
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            ops = tuple(o for o in definition.operation_types if _named(o.type) not in hidden_types)
            out.append(dataclasses.replace(definition, directives=_strip(definition.directives, specs),
                                           operation_types=ops))
            continue
        name = getattr(getattr(definition, "name", None), "value", None)
        if name is None or name in hidden_types:
            continue
        changes: dict[str, Any] = {"directives": _strip(definition.directives, specs)}  # type: ignore[attr-defined]
        if isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode
                      | InterfaceTypeDefinitionNode | InterfaceTypeExtensionNode):
            fields = []
            for f in definition.fields or ():
                if _hidden(f.directives, specs) or _named(f.type) in hidden_types:
                    continue
                args = tuple(
                    dataclasses.replace(a, directives=_strip(a.directives, specs))
                    for a in f.arguments or ()
                    if not _hidden(a.directives, specs)
                )
                fields.append(dataclasses.replace(f, directives=_strip(f.directives, specs), arguments=args))
            changes["fields"] = tuple(fields)
            changes["interfaces"] = tuple(i for i in definition.interfaces or () if i.name.value not in hidden_types)
            if not fields:
                continue
        elif isinstance(definition, UnionTypeDefinitionNode | UnionTypeExtensionNode):
            members = tuple(t for t in definition.types or () if t.name.value not in hidden_types)
            if not members:
                continue
            changes["types"] = members
        elif isinstance(definition, EnumTypeDefinitionNode | EnumTypeExtensionNode):
            values = tuple(
                dataclasses.replace(v, directives=_strip(v.directives, specs))
                for v in definition.values or ()
                if not _hidden(v.directives, specs)
            )
            changes["values"] = values
        elif isinstance(definition, InputObjectTypeDefinitionNode | InputObjectTypeExtensionNode):
            changes["fields"] = tuple(
                dataclasses.replace(f, directives=_strip(f.directives, specs))
                for f in definition.fields or ()
                if not _hidden(f.directives, specs)
            )
        out.append(dataclasses.replace(definition, **changes))
    return dataclasses.replace(doc, definitions=tuple(out))
