"""Directive extraction: a subgraph's type definitions and extensions into :class:`SubgraphType`s.

Each element's federation directives are read by their canonical name (whatever the subgraph
imported them as, :class:`.subgraph_links.FederationNames`): keys, ``@external``, ``@requires``,
``@provides``, ``@shareable``, ``@override``, ``@context`` / ``@fromContext``, and the decorations
composition carries (description, deprecation, ``@inaccessible``, ``@tag``, authorization, cost,
``@composeDirective``-kept applications). Extensions of a type fold into its definition here.
"""

from __future__ import annotations

from graphql import print_ast
from graphql.language import (
    DirectiveNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
)

from gateway.sdl_values import directive_arguments

from .decorations import and_requirements, merge_decorations, read_list_size
from .errors import CompositionError
from .subgraph_links import JOIN_DIRECTIVES, FederationNames
from .subgraph_model import (
    ArgumentDef,
    Decorations,
    EnumValueDef,
    JoinDirective,
    KeyDef,
    SubgraphField,
    SubgraphSchema,
    SubgraphType,
)
from .typeref import TypeRef, from_ast

DEFAULT_DEPRECATION = "No longer supported"


class SubgraphReader:
    """Turns type definitions and extensions into :class:`SubgraphType`s for one subgraph."""

    def __init__(
        self,
        sub: str,
        names: FederationNames,
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
        merge_decorations(td.deco, deco)
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
