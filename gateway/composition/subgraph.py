"""Subgraph schemas: parsing, ``@link`` import resolution and the Federation 1 upgrade.

A subgraph's SDL is read into plain dataclasses with every federation directive
already interpreted (``keys``, ``external``, ``requires`` ...), whatever name the
subgraph imported it under (``@key``, ``@federation__key``, a renamed import).
Federation machinery (``_Service``, ``_Entity``, ``_Any``, ``FieldSet``, the
``_service`` / ``_entities`` root fields) is dropped here so that merging never
sees it.

The composer's world: ``SubgraphSchema``, ``SubgraphType``, ``SubgraphField`` are subgraph schemas
being composed (the served supergraph's ``Subgraph`` / ``TypeDef`` / ``FieldDef`` live in
:mod:`gateway.supergraph.model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import GraphQLSyntaxError, parse, print_ast
from graphql.language import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldNode,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    SelectionSetNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
)

from gateway.sdl_values import directive_arguments
from gateway.supergraph.links import LINK_SPEC, Link, read_links

from .errors import CompositionError
from .fieldset import FieldSetSyntaxError, parse_field_set, print_selection_set, top_level_fields
from .rules import DEFAULT_ROOT_NAMES, check_document
from .typeref import TypeRef, from_ast

FEDERATION_URL = "https://specs.apollo.dev/federation/"

#: Directives the federation spec defines, by their canonical (unprefixed) names.
FEDERATION_DIRECTIVES = frozenset(
    {
        "key",
        "external",
        "requires",
        "provides",
        "extends",
        "shareable",
        "inaccessible",
        "tag",
        "override",
        "interfaceObject",
        "composeDirective",
        "authenticated",
        "requiresScopes",
        "policy",
        "context",
        "fromContext",
        "cost",
        "listSize",
        "cacheTag",
    }
)

#: Federation directives the supergraph carries as ``@join__directive`` (name there, first version).
JOIN_DIRECTIVES = {"cacheTag": ("federation__cacheTag", (2, 12))}

#: What a Federation 1 subgraph may use without any ``@link``.
FED1_DIRECTIVES = frozenset(
    {"key", "external", "requires", "provides", "extends", "shareable", "inaccessible", "tag"}
)

#: Types that only exist to run federation; never merged into the supergraph.
MACHINERY_TYPES = frozenset({"_Service", "_Any", "_Entity", "_FieldSet", "FieldSet", "link__Import"})
MACHINERY_ROOT_FIELDS = frozenset({"_service", "_entities"})
BUILTIN_SCALARS = frozenset({"Int", "Float", "String", "Boolean", "ID"})
ROOT_KINDS = ("query", "mutation", "subscription")
DEFAULT_DEPRECATION = "No longer supported"


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


@dataclass(slots=True)
class _Names:
    """How this subgraph spells federation's directives: local name -> canonical name."""

    local_to_canonical: dict[str, str] = field(default_factory=dict)
    link_names: set[str] = field(default_factory=set)

    def canonical(self, local: str) -> str | None:
        return self.local_to_canonical.get(local)


def _link_names(
    doc: DocumentNode, errors: list[CompositionError], sub: str
) -> tuple[_Names, bool, tuple[int, int], list[tuple[str, list[object]]]]:
    """Read the schema's ``@link``s (:func:`gateway.supergraph.links.read_links`): which local
    names mean which federation directives."""
    names = _Names()
    links: list[tuple[str, list[object]]] = []
    fed_link: Link | None = None
    for link in read_links(doc):
        if link.from_feature:
            continue  # a subgraph links by url; @core(feature:) is a Federation 1 supergraph's
        names.link_names.add(link.directive)
        if link.url.startswith(LINK_SPEC):
            continue
        links.append((link.url, list(link.raw_imports)))
        if link.url.startswith(FEDERATION_URL):
            fed_link = link
    if fed_link is None:
        for n in FED1_DIRECTIVES:
            names.local_to_canonical[n] = n
        return names, False, (1, 0), links
    prefix = fed_link.alias or "federation"
    for n in FEDERATION_DIRECTIVES:
        names.local_to_canonical[f"{prefix}__{n}"] = n
    for imp in fed_link.raw_imports:
        if isinstance(imp, str):
            src, local = imp, imp
        elif isinstance(imp, dict):
            src, local = str(imp.get("name")), str(imp.get("as") or imp.get("name"))
        else:
            continue
        if src.startswith("@"):
            canonical = src[1:]
            if canonical not in FEDERATION_DIRECTIVES:
                errors.append(
                    CompositionError(
                        "INVALID_LINK_DIRECTIVE_USAGE",
                        f'[{sub}] Cannot import unknown element "{src}".',
                        (sub,),
                    )
                )
                continue
            if canonical in JOIN_DIRECTIVES and fed_link.version < JOIN_DIRECTIVES[canonical][1]:
                errors.append(
                    CompositionError(
                        "INVALID_LINK_DIRECTIVE_USAGE",
                        f'[{sub}] Cannot import unknown element "{src}".',
                        (sub,),
                    )
                )
                continue
            names.local_to_canonical[local.lstrip("@")] = canonical
    return names, True, fed_link.version, links


def parse_subgraph(source: SubgraphSource, errors: list[CompositionError]) -> SubgraphSchema | None:
    """Parse one subgraph; problems are appended to ``errors`` (None when it cannot be read)."""
    sub = source.name
    try:
        doc = parse(source.sdl)
    except GraphQLSyntaxError as exc:
        errors.append(CompositionError("INVALID_GRAPHQL", f"[{sub}] {exc.message}", (sub,)))
        return None
    names, fed2, version, links = _link_names(doc, errors, sub)
    errors.extend(check_document(sub, doc, names.canonical, fed2, version))
    sg = SubgraphSchema(name=sub, url=source.url, fed2=fed2, version=version)

    # Root types may have other names in a subgraph; the supergraph always says Query/Mutation/Subscription.
    rename: dict[str, str] = {}
    compose_names: list[str] = []
    for d in doc.definitions:
        if isinstance(d, SchemaDefinitionNode | SchemaExtensionNode):
            for op in d.operation_types or ():
                kind = op.operation.value
                rename[op.type.name.value] = DEFAULT_ROOT_NAMES[kind]
            for app in d.directives or ():
                if names.canonical(app.name.value) == "composeDirective":
                    n = directive_arguments(app).get("name")
                    if isinstance(n, str):
                        compose_names.append(n.lstrip("@"))
    rename = {k: v for k, v in rename.items() if k != v}

    for d in doc.definitions:
        if isinstance(d, DirectiveDefinitionNode):
            local = d.name.value
            if names.canonical(local) is None and local not in names.link_names and local not in (
                "link",
                "core",
            ):
                sg.directive_defs[local] = d

    composed_set = set(compose_names)
    for cname in compose_names:
        definition = sg.directive_defs.get(cname)
        if definition is None:
            errors.append(
                CompositionError(
                    "DIRECTIVE_COMPOSITION_ERROR",
                    f"[{sub}] Could not find matching directive definition for argument to "
                    f'@composeDirective "@{cname}".',
                    (sub,),
                )
            )
            continue
        link_url = None
        link_import = None
        for url, imports in links:
            for imp in imports:
                if isinstance(imp, dict):
                    imp_name = imp.get("as") or imp.get("name")
                else:
                    imp_name = imp
                if isinstance(imp_name, str) and imp_name.lstrip("@") == cname:
                    link_url, link_import = url, f"@{cname}"
        sg.composed.append(ComposedDirective(cname, definition, link_url, link_import))

    reader = _Reader(sub, names, composed_set, errors, rename, fed2)
    for d in doc.definitions:
        if isinstance(d, TypeDefinitionNode | TypeExtensionNode):
            name = d.name.value
            if name in MACHINERY_TYPES or name.startswith(("federation__", "link__", "join__")):
                continue
            reader.add(sg, d)

    # Federation's own root fields are machinery too. Every subgraph has a Query type
    # (it serves ``_entities``), so the supergraph's Query joins every graph even when a
    # subgraph adds no query field of its own.
    q = sg.types.get("Query")
    if q is None:
        q = sg.types["Query"] = SubgraphType(name="Query", kind="object", has_definition=True)
    for f in MACHINERY_ROOT_FIELDS:
        q.fields.pop(f, None)
    if fed2:
        # ``@external`` on the key fields of an extension only said "defined elsewhere"
        # (a Federation 1 habit); the reference composer reads those fields as local.
        for t in sg.types.values():
            if t.extension:
                for k in t.keys:
                    for fname in _top(k.fields):
                        if fname in t.fields:
                            t.fields[fname].external = False
    else:
        _upgrade_fed1(sg)
    return sg


class _Reader:
    """Turns type definitions and extensions into :class:`SubgraphType`s for one subgraph."""

    def __init__(
        self,
        sub: str,
        names: _Names,
        composed: set[str],
        errors: list[CompositionError],
        rename: dict[str, str],
        fed2: bool,
    ) -> None:
        self.sub = sub
        self.names = names
        self.composed = composed
        self.errors = errors
        self.rename = rename
        self.fed2 = fed2

    def _t(self, node: object) -> TypeRef:
        ref = from_ast(node)  # type: ignore[arg-type]
        return ref.renamed(self.rename) if self.rename else ref

    def deco(self, node: object, directives: tuple[DirectiveNode, ...] | None) -> Decorations:
        """Read description, deprecation and the decorations composition carries."""
        desc = getattr(node, "description", None)
        out = Decorations(description=desc.value if desc is not None else None)
        for app in directives or ():
            local = app.name.value
            canon = self.names.canonical(local)
            args = directive_arguments(app)
            if local == "deprecated":
                reason = args.get("reason")
                out.deprecated = str(reason) if reason is not None else DEFAULT_DEPRECATION
            elif canon == "inaccessible":
                out.inaccessible = True
            elif canon == "tag":
                tag = str(args.get("name"))
                if tag not in out.tags:
                    out.tags.append(tag)
            elif canon == "authenticated":
                out.authenticated = True
            elif canon == "requiresScopes":
                out.scopes = and_requirements(out.scopes, args.get("scopes"))
            elif canon == "policy":
                out.policies = and_requirements(out.policies, args.get("policies"))
            elif local == "specifiedBy":
                out.specified_by = str(args.get("url"))
            elif canon == "cost":
                out.cost = int(str(args.get("weight")))
                out.cost_first = out.list_size is None
            elif canon == "listSize":
                out.list_size = read_list_size(args)
            elif canon in JOIN_DIRECTIVES:
                printed = ", ".join(f"{a.name.value}: {print_ast(a.value)}" for a in app.arguments or ())
                out.join_directives.append(JoinDirective(JOIN_DIRECTIVES[canon][0], "{" + printed + "}"))
            elif local in self.composed:
                out.composed.append(print_ast(app))
        return out

    def add(self, sg: SubgraphSchema, node: TypeDefinitionNode | TypeExtensionNode) -> None:
        name = self.rename.get(node.name.value, node.name.value)
        kind = _kind(node)
        is_ext = isinstance(node, TypeExtensionNode)
        td = sg.types.get(name)
        if td is None:
            td = SubgraphType(name=name, kind=kind, extension=True)
            sg.types[name] = td
        elif td.kind != kind:
            self.errors.append(
                CompositionError(
                    "INVALID_GRAPHQL",
                    f'[{self.sub}] Type "{name}" is defined with different kinds in the same subgraph.',
                    (self.sub,),
                    name,
                )
            )
            return
        directives = tuple(node.directives or ())
        deco = self.deco(node, directives)
        if not is_ext:
            td.has_definition = True
            td.extension = False
        _merge_deco(td.deco, deco)
        for app in directives:
            canon = self.names.canonical(app.name.value)
            args = directive_arguments(app)
            if canon == "key":
                fields = args.get("fields")
                resolvable = args.get("resolvable")
                if isinstance(fields, str):
                    td.keys.append(KeyDef(_normalise_fields(fields), resolvable is not False))
            elif canon == "shareable":
                td.shareable = True
            elif canon == "interfaceObject":
                td.interface_object = True
            elif canon == "context":
                cname = args.get("name")
                if isinstance(cname, str) and cname not in td.contexts:
                    td.contexts.append(cname)
            elif canon == "extends":
                # ``@extends`` is the directive spelling of ``extend type``.
                td.extension = True
                td.extends_directive = True
        type_external = any(self.names.canonical(a.name.value) == "external" for a in directives)
        if kind in ("object", "interface"):
            for i in getattr(node, "interfaces", None) or ():
                iname = self.rename.get(i.name.value, i.name.value)
                if iname not in td.interfaces:
                    td.interfaces.append(iname)
            for f in getattr(node, "fields", None) or ():
                fd = self.field(f)
                if td.shareable:
                    fd.shareable = True
                if type_external:
                    # ``@external`` on a type marks the fields this definition lists.
                    fd.external = True
                td.fields[fd.name] = fd
        elif kind == "input":
            for f in getattr(node, "fields", None) or ():
                td.input_fields[f.name.value] = self.argument(f)
        elif kind == "union":
            for m in getattr(node, "types", None) or ():
                mname = self.rename.get(m.name.value, m.name.value)
                if mname not in td.members:
                    td.members.append(mname)
        elif kind == "enum":
            for v in getattr(node, "values", None) or ():
                td.values[v.name.value] = EnumValueDef(v.name.value, self.deco(v, tuple(v.directives or ())))

    def argument(self, node: object) -> ArgumentDef:
        default = getattr(node, "default_value", None)
        directives = tuple(getattr(node, "directives", None) or ())
        from_context = None
        for app in directives:
            if self.names.canonical(app.name.value) == "fromContext":
                value = directive_arguments(app).get("field")
                from_context = str(value) if value is not None else None
        return ArgumentDef(
            name=node.name.value,  # type: ignore[attr-defined]
            type=self._t(node.type),  # type: ignore[attr-defined]
            default=print_ast(default) if default is not None else None,
            deco=self.deco(node, directives),
            from_context=from_context,
        )

    def field(self, node: object) -> SubgraphField:
        directives = tuple(getattr(node, "directives", None) or ())
        fd = SubgraphField(
            name=node.name.value,  # type: ignore[attr-defined]
            type=self._t(node.type),  # type: ignore[attr-defined]
            deco=self.deco(node, directives),
        )
        for a in getattr(node, "arguments", None) or ():
            fd.args[a.name.value] = self.argument(a)
        for app in directives:
            canon = self.names.canonical(app.name.value)
            args = directive_arguments(app)
            if canon == "external":
                fd.external = True
            elif canon == "requires":
                fd.requires = _normalise_fields(str(args.get("fields")))
            elif canon == "provides":
                fd.provides = _normalise_fields(str(args.get("fields")))
            elif canon == "shareable":
                fd.shareable = True
            elif canon == "override":
                fd.override = str(args.get("from"))
                label = args.get("label")
                fd.override_label = str(label) if label is not None else None
        return fd


def _normalise_fields(text: str) -> str:
    """Field sets keep the user's text, as the reference composer does (only trimmed)."""
    return text.strip()


def _kind(node: object) -> str:
    if isinstance(node, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
        return "object"
    if isinstance(node, InterfaceTypeDefinitionNode | InterfaceTypeExtensionNode):
        return "interface"
    if isinstance(node, UnionTypeDefinitionNode | UnionTypeExtensionNode):
        return "union"
    if isinstance(node, EnumTypeDefinitionNode | EnumTypeExtensionNode):
        return "enum"
    if isinstance(node, InputObjectTypeDefinitionNode | InputObjectTypeExtensionNode):
        return "input"
    assert isinstance(node, ScalarTypeDefinitionNode | ScalarTypeExtensionNode)
    return "scalar"


def _merge_deco(into: Decorations, other: Decorations) -> None:
    into.description = into.description or other.description
    into.deprecated = into.deprecated or other.deprecated
    into.inaccessible = into.inaccessible or other.inaccessible
    into.tags.extend(t for t in other.tags if t not in into.tags)
    into.authenticated = into.authenticated or other.authenticated
    if other.scopes is not None:
        into.scopes = and_requirements(into.scopes, other.scopes)
    if other.policies is not None:
        into.policies = and_requirements(into.policies, other.policies)
    into.composed.extend(c for c in other.composed if c not in into.composed)
    into.specified_by = into.specified_by or other.specified_by
    into.join_directives.extend(other.join_directives)
    into.cost, into.list_size = merge_cost([into.cost, other.cost]), merge_list_size([into.list_size, other.list_size])


def read_list_size(args: dict[str, object]) -> ListSize:
    """A ``@listSize`` application's arguments (``requireOneSlicingArgument`` defaults to true)."""

    def names(value: object) -> tuple[str, ...] | None:
        return tuple(str(v) for v in value) if isinstance(value, list) else None

    size = args.get("assumedSize")
    require = args.get("requireOneSlicingArgument", True)
    return ListSize(
        assumed_size=int(size) if isinstance(size, int | str) else None,
        slicing_arguments=names(args.get("slicingArguments")),
        sized_fields=names(args.get("sizedFields")),
        require_one_slicing_argument=bool(require) if require is not None else None,
    )


def merge_cost(weights: list[int | None]) -> int | None:
    """``@cost(weight:)`` composes by MAX (the cost spec's composition strategy)."""
    present = [w for w in weights if w is not None]
    return max(present) if present else None


def merge_list_size(sizes: list[ListSize | None]) -> ListSize | None:
    """``@listSize`` composes argument by argument: NULLABLE_MAX, NULLABLE_UNION twice, NULLABLE_AND."""
    present = [s for s in sizes if s is not None]
    if len(present) <= 1:
        return present[0] if present else None

    def union(values: list[tuple[str, ...] | None]) -> tuple[str, ...] | None:
        if all(v is None for v in values):
            return None
        out: list[str] = []
        for v in values:
            out.extend(x for x in v or () if x not in out)
        return tuple(out)

    requires = [s.require_one_slicing_argument for s in present if s.require_one_slicing_argument is not None]
    return ListSize(
        assumed_size=merge_cost([s.assumed_size for s in present]),
        slicing_arguments=union([s.slicing_arguments for s in present]),
        sized_fields=union([s.sized_fields for s in present]),
        require_one_slicing_argument=all(requires) if requires else None,
    )


def and_requirements(a: object, b: object) -> list[list[str]] | None:
    """AND two ``[[...]]`` requirements (an OR of ANDs): every pair of alternatives, joined.

    This is how ``@requiresScopes`` / ``@policy`` from several subgraphs combine: a
    client must satisfy what each subgraph asks for.
    """
    if not isinstance(b, list):
        return a if isinstance(a, list) else None  # type: ignore[return-value]
    bb = [[str(x) for x in alt] for alt in b if isinstance(alt, list)]
    if not isinstance(a, list):
        return _dedupe(bb)
    out: list[list[str]] = []
    for x in a:
        for y in bb:
            joined = list(x)
            joined.extend(s for s in y if s not in joined)
            out.append(joined)
    return _dedupe(out)


def _dedupe(alts: list[list[str]]) -> list[list[str]]:
    seen: list[frozenset[str]] = []
    out: list[list[str]] = []
    for alt in alts:
        key = frozenset(alt)
        if key not in seen:
            seen.append(key)
            out.append(alt)
    return out


def _upgrade_fed1(sg: SubgraphSchema) -> None:
    """Read a Federation 1 subgraph with Federation 2 semantics, as Apollo's upgrader does.

    Everything is shareable in Federation 1; ``@external`` on a key field only said
    "defined elsewhere" and means nothing in Federation 2; an ``@external`` field no
    key, requires or provides uses is dropped; ``@requires`` naming local fields keeps
    only the external ones; ``extend type`` carries no extension flag.
    """
    used: set[tuple[str, str]] = set()
    for t in sg.types.values():
        t.extension = t.extends_directive
        for k in t.keys:
            for f in _top(k.fields):
                used.add((t.name, f))
                fd = t.fields.get(f)
                if fd is not None:
                    fd.external = False
        for fd in t.fields.values():
            fd.shareable = True
            if fd.requires:
                for f in _top(fd.requires):
                    used.add((t.name, f))
            if fd.provides:
                target = sg.types.get(fd.type.named)
                for f in _top(fd.provides):
                    used.add((fd.type.named, f))
                    if target is not None:
                        for impl in sg.types.values():
                            if target.name in impl.interfaces:
                                used.add((impl.name, f))
    for t in sg.types.values():
        for fname in list(t.fields):
            fd = t.fields[fname]
            if fd.external and (t.name, fname) not in used:
                del t.fields[fname]
        for fd in t.fields.values():
            if fd.requires:
                # Unknown fields stay, so that validation reports them (REQUIRES_INVALID_FIELDS).
                kept = [f for f in _top(fd.requires) if f not in t.fields or t.fields[f].external]
                fd.requires = _filter_top(fd.requires, kept) or None
            if fd.provides:
                # Federation 1 let @provides name fields the subgraph resolves anyway; those mean nothing.
                target = sg.types.get(fd.type.named)
                if target is not None and target.kind == "object":
                    kept = [f for f in _top(fd.provides) if f not in target.fields or target.fields[f].external]
                    fd.provides = _filter_top(fd.provides, kept) or None
        if t.kind in ("object", "interface") and not t.fields:
            t.fields = {}


def _top(text: str) -> list[str]:
    try:
        return top_level_fields(text)
    except FieldSetSyntaxError:
        return []


def _filter_top(text: str, keep: list[str]) -> str:
    sel = parse_field_set(text)
    kept = tuple(s for s in sel.selections if not isinstance(s, FieldNode) or s.name.value in keep)
    if len(kept) == len(sel.selections):
        return text
    return print_selection_set(SelectionSetNode(selections=kept))
