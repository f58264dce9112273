"""The API schema of a supergraph: what clients see.

The supergraph's machinery goes (``@link``-ed specs: ``join__*``, ``link__*``, their
directives and types), elements marked ``@inaccessible`` go, and so does every
applied directive but ``@deprecated`` / ``@specifiedBy`` / ``@oneOf``. Directive
definitions that no ``@link`` claims are kept when they have executable locations,
as Apollo does.
"""

from __future__ import annotations

import re

from graphql import GraphQLSchema, build_ast_schema, parse
from graphql.language import (
    ConstDirectiveNode,
    DefinitionNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumValueDefinitionNode,
    FieldDefinitionNode,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListValueNode,
    NamedTypeNode,
    ObjectTypeDefinitionNode,
    ObjectValueNode,
    SchemaDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
)

from .typeref import from_ast

#: Applied directives clients may see.
KEPT_DIRECTIVES = frozenset({"deprecated", "specifiedBy", "oneOf"})
_EXECUTABLE = frozenset(
    {
        "QUERY",
        "MUTATION",
        "SUBSCRIPTION",
        "FIELD",
        "FRAGMENT_DEFINITION",
        "FRAGMENT_SPREAD",
        "INLINE_FRAGMENT",
        "VARIABLE_DEFINITION",
    }
)


def _linked_names(doc: DocumentNode) -> tuple[set[str], set[str], str]:
    """Prefixes and imported names of every ``@link``ed spec, and the local name of inaccessible."""
    prefixes: set[str] = {"link", "join"}
    imported: set[str] = {"link"}
    inaccessible = "inaccessible"
    for d in doc.definitions:
        if not isinstance(d, SchemaDefinitionNode):
            continue
        for app in d.directives or ():
            args = {a.name.value: a.value for a in app.arguments or ()}
            url = args.get("url")
            if not isinstance(url, StringValueNode):
                continue
            m = re.search(r"/([A-Za-z_][A-Za-z0-9_]*)/v\d+\.\d+", url.value)
            name = m.group(1) if m else None
            alias = args.get("as")
            if isinstance(alias, StringValueNode):
                name = alias.value
            if name:
                prefixes.add(name)
                imported.add(name)
                if m and m.group(1) == "inaccessible":
                    inaccessible = name
            imports = args.get("import")
            if isinstance(imports, ListValueNode):
                for imp in imports.values:
                    if isinstance(imp, StringValueNode):
                        imported.add(imp.value.lstrip("@"))
                    elif isinstance(imp, ObjectValueNode):
                        fields = {f.name.value: f.value for f in imp.fields}
                        local = fields.get("as") or fields.get("name")
                        if isinstance(local, StringValueNode):
                            imported.add(local.value.lstrip("@"))
    return prefixes, imported, inaccessible


def api_schema_document(sdl: str) -> DocumentNode:
    """The API schema of a supergraph, as a document (order of the supergraph kept)."""
    doc = parse(sdl)
    prefixes, imported, inaccessible = _linked_names(doc)

    def is_machinery(name: str) -> bool:
        return name in imported or any(name.startswith(p + "__") for p in prefixes)

    def hidden(node: object) -> bool:
        return any(d.name.value == inaccessible for d in getattr(node, "directives", None) or ())

    def keep_dirs(dirs: tuple[DirectiveNode, ...] | None) -> tuple[ConstDirectiveNode, ...]:
        return tuple(d for d in dirs or () if d.name.value in KEPT_DIRECTIVES)  # type: ignore[misc]

    removed_types = {
        d.name.value
        for d in doc.definitions
        if isinstance(d, TypeDefinitionNode) and (hidden(d) or is_machinery(d.name.value))
    }

    def visible_type(t: object) -> bool:
        return from_ast(t).named not in removed_types  # type: ignore[arg-type]

    def input_values(values: tuple[InputValueDefinitionNode, ...] | None) -> tuple[InputValueDefinitionNode, ...]:
        out = []
        for v in values or ():
            if hidden(v) or not visible_type(v.type):
                continue
            out.append(
                InputValueDefinitionNode(
                    name=v.name,
                    description=v.description,
                    type=v.type,
                    default_value=v.default_value,
                    directives=keep_dirs(v.directives),
                )
            )
        return tuple(out)

    definitions: list[DefinitionNode] = []
    for d in doc.definitions:
        if isinstance(d, SchemaDefinitionNode):
            ops = tuple(op for op in d.operation_types if op.type.name.value not in removed_types)
            definitions.append(SchemaDefinitionNode(description=d.description, directives=(), operation_types=ops))
        elif isinstance(d, DirectiveDefinitionNode):
            if is_machinery(d.name.value):
                continue
            locs = tuple(loc for loc in d.locations if loc.value in _EXECUTABLE)
            if not locs:
                continue
            definitions.append(
                DirectiveDefinitionNode(
                    name=d.name,
                    description=d.description,
                    arguments=input_values(d.arguments),
                    repeatable=d.repeatable,
                    locations=locs,
                )
            )
        elif isinstance(d, TypeDefinitionNode):
            if d.name.value in removed_types:
                continue
            definitions.append(_filter_type(d, hidden, keep_dirs, visible_type, input_values, removed_types))
    return DocumentNode(definitions=tuple(definitions))


def _filter_type(d, hidden, keep_dirs, visible_type, input_values, removed_types):  # type: ignore[no-untyped-def]
    kw = {"name": d.name, "description": d.description, "directives": keep_dirs(d.directives)}
    if isinstance(d, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
        fields = tuple(
            FieldDefinitionNode(
                name=f.name,
                description=f.description,
                arguments=input_values(f.arguments),
                type=f.type,
                directives=keep_dirs(f.directives),
            )
            for f in d.fields or ()
            if not hidden(f) and visible_type(f.type)
        )
        interfaces = tuple(i for i in d.interfaces or () if i.name.value not in removed_types)
        return type(d)(fields=fields, interfaces=interfaces, **kw)
    if isinstance(d, UnionTypeDefinitionNode):
        members = tuple(NamedTypeNode(name=m.name) for m in d.types or () if m.name.value not in removed_types)
        return UnionTypeDefinitionNode(types=members, **kw)
    if isinstance(d, EnumTypeDefinitionNode):
        values = tuple(
            EnumValueDefinitionNode(name=v.name, description=v.description, directives=keep_dirs(v.directives))
            for v in d.values or ()
            if not hidden(v)
        )
        return EnumTypeDefinitionNode(values=values, **kw)
    if isinstance(d, InputObjectTypeDefinitionNode):
        return InputObjectTypeDefinitionNode(fields=input_values(d.fields), **kw)
    return type(d)(**kw)


def api_schema_from_supergraph(sdl: str) -> GraphQLSchema:
    """Derive the client-facing schema from a supergraph SDL."""
    return build_ast_schema(api_schema_document(sdl))
