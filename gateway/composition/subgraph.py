"""Subgraph schemas: parsing, ``@link`` import resolution and the Federation 1 upgrade.

A subgraph's SDL is read into plain dataclasses with every federation directive
already interpreted (``keys``, ``external``, ``requires`` ...), whatever name the
subgraph imported it under (``@key``, ``@federation__key``, a renamed import).
Federation machinery (``_Service``, ``_Entity``, ``_Any``, ``FieldSet``, the
``_service`` / ``_entities`` root fields) is dropped here so that merging never
sees it.

The pieces: :mod:`.subgraph_model` (the dataclasses), :mod:`.subgraph_links` (``@link`` import
resolution: which local name means which federation directive), :mod:`.subgraph_reader`
(directive extraction per type), :mod:`.subgraph_upgrade` (Federation 1 upgrade) and
:mod:`.decorations` (how decorations combine). This module reads the document and runs them.
"""

from __future__ import annotations

from graphql import GraphQLSyntaxError, parse
from graphql.language import (
    DirectiveDefinitionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
)

from gateway.sdl_values import directive_arguments

from .errors import CompositionError
from .rules import DEFAULT_ROOT_NAMES, check_document
from .subgraph_links import read_federation_links
from .subgraph_model import ComposedDirective, SubgraphSchema, SubgraphSource, SubgraphType
from .subgraph_reader import SubgraphReader
from .subgraph_upgrade import apply_federation_version

__all__ = ["SubgraphSource", "parse_subgraph"]  # SubgraphSource: the package's public input type

#: Types that only exist to run federation; never merged into the supergraph.
MACHINERY_TYPES = frozenset({"_Service", "_Any", "_Entity", "_FieldSet", "FieldSet", "link__Import"})
MACHINERY_ROOT_FIELDS = frozenset({"_service", "_entities"})


def parse_subgraph(source: SubgraphSource, errors: list[CompositionError]) -> SubgraphSchema | None:
    """Parse one subgraph; problems are appended to ``errors`` (None when it cannot be read)."""
    sub = source.name
    try:
        doc = parse(source.sdl)
    except GraphQLSyntaxError as exc:
        errors.append(CompositionError("INVALID_GRAPHQL", f"[{sub}] {exc.message}", (sub,)))
        return None
    names, fed2, version, links = read_federation_links(doc, errors, sub)
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

    reader = SubgraphReader(sub, names, composed_set, errors, rename, fed2)
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
    apply_federation_version(sg)
    return sg
