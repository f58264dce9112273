"""The one reader of ``@link`` (and Federation 1's ``@core``): which specs a schema links, under which names.

Used for the supergraph being served (join, context, auth, inaccessible, and the names
the API schema hides) and for the subgraph schemas being composed (how a subgraph
spells federation's directives). ``@link`` itself may be renamed (``@link(as:)``):
an application is a link when its name is ``link``/``core`` or its url is the link spec's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graphql import DirectiveNode, DocumentNode, SchemaDefinitionNode, SchemaExtensionNode

from gateway.sdl_values import directive_arguments

LINK_SPEC = "https://specs.apollo.dev/link/"
_SPEC_URL = re.compile(r"/([A-Za-z_][A-Za-z0-9_]*)/v(\d+)\.(\d+)/?$")


@dataclass(frozen=True, slots=True)
class LinkImport:
    """One ``import:`` entry: the spec's element (``@key``, ``FieldSet``) and its local name."""

    name: str
    alias: str

    @property
    def is_directive(self) -> bool:
        return self.name.startswith("@")

    @property
    def local_name(self) -> str:
        """The local name without ``@``."""
        return self.alias.lstrip("@")


@dataclass(frozen=True, slots=True)
class Link:
    """One ``@link(url:, as:, import:, for:)`` (or ``@core(feature:, as:)``) on the schema."""

    url: str
    directive: str  # the name the application goes by (``link``, ``core``, or a renamed link)
    spec: str | None  # the spec's name from the url (``join``), None when the url names none
    version: tuple[int, int]
    alias: str | None  # ``as:`` as written
    prefix: str | None  # ``as:``, else the spec's name: the prefix of its ``prefix__element`` names
    from_feature: bool  # a Federation 1 ``@core(feature:)`` (no ``url:``)
    imports: tuple[LinkImport, ...]
    raw_imports: tuple[object, ...]  # the ``import:`` list as written (the composer reports bad entries)

    @property
    def is_apollo_spec(self) -> bool:
        """True for the federation machinery specs (link, join, inaccessible, tag, federation ...)."""
        return "//specs.apollo.dev/" in self.url


def _is_link(app: DirectiveNode, url: str) -> bool:
    name = app.name.value
    return name in ("link", "core") or "link" in name or url.startswith(LINK_SPEC)


def read_links(doc: DocumentNode) -> list[Link]:
    """Every ``@link`` / ``@core`` on the schema definition and its extensions, in document order."""
    links: list[Link] = []
    for definition in doc.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for app in definition.directives or ():
            args = directive_arguments(app)
            from_feature = not args.get("url")
            url = args.get("url") or args.get("feature")
            if not isinstance(url, str) or not _is_link(app, url):
                continue
            m = _SPEC_URL.search(url)
            spec = m.group(1) if m else None
            version = (int(m.group(2)), int(m.group(3))) if m else _loose_version(url)
            alias = args.get("as") if isinstance(args.get("as"), str) and args.get("as") else None
            raw = args.get("import")
            raw_imports = tuple(raw) if isinstance(raw, list) else ()
            links.append(Link(url=url, directive=app.name.value, spec=spec, version=version, alias=alias,
                              prefix=alias or spec, from_feature=from_feature, imports=tuple(_imports(raw_imports)),
                              raw_imports=raw_imports))
    return links


def _loose_version(url: str) -> tuple[int, int]:
    m = re.search(r"/v(\d+)\.(\d+)", url)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _imports(raw: tuple[object, ...]) -> list[LinkImport]:
    out: list[LinkImport] = []
    for imp in raw:
        if isinstance(imp, str):
            out.append(LinkImport(imp, imp))
        elif isinstance(imp, dict):
            name = str(imp.get("name") or "")
            out.append(LinkImport(name, str(imp.get("as") or name)))
    return out


_AUTH_SPECS = frozenset({"authenticated", "requiresScopes", "policy"})


@dataclass(slots=True)
class LinkedSpecs:
    """What a supergraph's links mean: the names of the specs the gateway reads, and every name
    that belongs to a linked spec (machinery the API schema hides)."""

    join: str | None = None
    join_version: tuple[int, int] = (0, 0)
    context: str | None = None  # the name @context goes by (context spec prefix)
    # the names @authenticated, @requiresScopes and @policy go by -> the spec's name
    auth: dict[str, str] = field(default_factory=dict)
    inaccessible: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    directive_names: set[str] = field(default_factory=set)
    type_names: set[str] = field(default_factory=set)

    def is_machinery_directive(self, name: str) -> bool:
        return name in self.directive_names or (name.split("__", 1)[0] in self.prefixes and "__" in name)

    def is_machinery_type(self, name: str) -> bool:
        return name in self.type_names or ("__" in name and name.split("__", 1)[0] in self.prefixes)


def supergraph_specs(doc: DocumentNode) -> LinkedSpecs:
    """The specs a supergraph links (``@link``, or ``@core`` in Federation 1 supergraphs)."""
    specs = LinkedSpecs()
    for link in read_links(doc):
        if link.directive not in ("link", "core") or link.spec is None or _SPEC_URL.search(link.url) is None:
            continue
        prefix = link.prefix or link.spec
        specs.prefixes.add(prefix)
        specs.directive_names.add(prefix)
        if link.spec in ("link", "core"):
            specs.directive_names.update({"link", "core"})
        if link.spec == "context":
            specs.context = prefix
        if link.spec in _AUTH_SPECS:
            specs.auth[prefix] = link.spec
        if link.spec == "join":
            specs.join = prefix
            specs.join_version = link.version
        imported_inaccessible: str | None = None
        for imp in link.imports:
            if imp.is_directive:
                specs.directive_names.add(imp.local_name)
                if link.spec == "inaccessible" and imp.name == "@inaccessible":
                    imported_inaccessible = imp.local_name
            else:
                specs.type_names.add(imp.alias)
        if link.spec == "inaccessible":
            specs.inaccessible.add(imported_inaccessible or prefix)
    specs.type_names.update({"link__Import", "link__Purpose", "core__Purpose"})
    return specs
