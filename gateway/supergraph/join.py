"""One reader per supergraph directive: ``@join__graph``, ``@join__type``, ``@join__owner``,
``@join__implements``, ``@join__unionMember``, ``@join__field``, ``@context`` and the
authorization directives. Each reads one application into the supergraph model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from graphql import DirectiveNode, DocumentNode, EnumTypeDefinitionNode
from graphql.language import SelectionSetNode

from gateway.sdl_values import directive_arguments
from gateway.supergraph.fieldset import FieldSetSyntaxError, parse_field_set
from gateway.supergraph.model import (
    AuthRequirements,
    ContextArgument,
    FieldDef,
    FieldInGraph,
    KeyInfo,
    Subgraph,
    SupergraphError,
    TypeDef,
    TypeInGraph,
)


def _field_set(fields: str) -> SelectionSetNode:
    try:
        return parse_field_set(fields)
    except FieldSetSyntaxError as exc:
        raise SupergraphError(f"invalid field set {fields!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class JoinNames:
    """The names the join spec's elements go by in one supergraph (``join__type`` ...)."""

    prefix: str

    @property
    def graph_enum(self) -> str:
        return f"{self.prefix}__Graph"

    @property
    def graph(self) -> str:
        return f"{self.prefix}__graph"

    @property
    def type(self) -> str:
        return f"{self.prefix}__type"

    @property
    def field(self) -> str:
        return f"{self.prefix}__field"

    @property
    def owner(self) -> str:
        return f"{self.prefix}__owner"

    @property
    def implements(self) -> str:
        return f"{self.prefix}__implements"

    @property
    def union_member(self) -> str:
        return f"{self.prefix}__unionMember"


@dataclass(frozen=True, slots=True)
class Graphs:
    """The subgraphs of ``@join__graph``, by name in declaration order, and by enum value."""

    subgraphs: dict[str, Subgraph]
    by_enum: dict[str, str]

    def of(self, value: object, where: str) -> str:
        """The subgraph a ``graph:`` argument names."""
        if value not in self.by_enum:
            raise SupergraphError(f"{where} names unknown graph {value!r}")
        return self.by_enum[value]  # type: ignore[index]


def read_join_graphs(doc: DocumentNode, names: JoinNames) -> Graphs:
    """``@join__graph(name:, url:)`` on the values of enum ``join__Graph``."""
    subgraphs: dict[str, Subgraph] = {}
    by_enum: dict[str, str] = {}
    for definition in doc.definitions:
        if isinstance(definition, EnumTypeDefinitionNode) and definition.name.value == names.graph_enum:
            for v in definition.values or ():
                for d in v.directives or ():
                    if d.name.value == names.graph:
                        a = directive_arguments(d)
                        name = a.get("name") or v.name.value.lower()
                        subgraphs[name] = Subgraph(name=name, enum_value=v.name.value, url=a.get("url") or "")
                        by_enum[v.name.value] = name
    if not subgraphs:
        raise SupergraphError(f"supergraph declares no subgraph (enum {names.graph_enum} with @{names.graph})")
    return Graphs(subgraphs=subgraphs, by_enum=by_enum)


def read_join_type(td: TypeDef, d: DirectiveNode, graphs: Graphs) -> None:
    """``@join__type(graph:, key:, extension:, resolvable:, isInterfaceObject:)``: one subgraph's view."""
    a = directive_arguments(d)
    g = graphs.of(a.get("graph"), f"@{d.name.value} on {td.name}")
    tg = td.graphs.get(g)
    if tg is None:
        tg = td.graphs[g] = TypeInGraph(graph=g)
    key = a.get("key")
    if key:
        tg.keys.append(KeyInfo(fields=key, selection=_field_set(key), resolvable=a.get("resolvable", True)))
    if a.get("extension"):
        tg.extension = True
    if a.get("isInterfaceObject"):
        tg.is_interface_object = True


def read_join_owner(td: TypeDef, d: DirectiveNode, graphs: Graphs) -> str:
    """``@join__owner(graph:)`` (join v0.1): the subgraph that owns a Federation 1 entity."""
    return graphs.of(directive_arguments(d).get("graph"), f"@{d.name.value} on {td.name}")


def read_join_implements(td: TypeDef, d: DirectiveNode, graphs: Graphs) -> None:
    """``@join__implements(graph:, interface:)``: an interface the type implements in one subgraph."""
    a = directive_arguments(d)
    g = graphs.of(a.get("graph"), f"@{d.name.value} on {td.name}")
    if td.implements is None:
        td.implements = {}
    td.implements.setdefault(g, set()).add(a.get("interface", ""))


def read_join_union_member(td: TypeDef, d: DirectiveNode, graphs: Graphs) -> None:
    """``@join__unionMember(graph:, member:)``: a member the union has in one subgraph."""
    a = directive_arguments(d)
    g = graphs.of(a.get("graph"), f"@{d.name.value} on {td.name}")
    if td.members is None:
        td.members = {}
    td.members.setdefault(g, set()).add(a.get("member", ""))


def read_join_field(fd: FieldDef, d: DirectiveNode, graphs: Graphs) -> None:
    """``@join__field(graph:, requires:, provides:, type:, external:, override:, usedOverridden:,
    overrideLabel:, contextArguments:)``; without ``graph:`` the field lives in no subgraph of its own."""
    a = directive_arguments(d)
    if a.get("graph") is None:
        fd.no_graph = True
        return
    g = graphs.of(a.get("graph"), f"@{d.name.value} on {fd.parent}.{fd.name}")
    if fd.graphs is None:
        fd.graphs = {}
    fd.graphs[g] = FieldInGraph(
        graph=g,
        external=bool(a.get("external")),
        requires=_field_set(a["requires"]) if a.get("requires") else None,
        provides=_field_set(a["provides"]) if a.get("provides") else None,
        type=a.get("type"),
        override=a.get("override"),
        used_overridden=bool(a.get("usedOverridden")),
        override_label=a.get("overrideLabel"),
        context_arguments=tuple(
            ContextArgument(
                context=c.get("context", ""),
                name=c.get("name", ""),
                type=c.get("type", ""),
                selection=_field_set(_unbrace(c.get("selection", ""))),
            )
            for c in a.get("contextArguments") or ()
            if isinstance(c, dict)
        ),
    )


def read_context(contexts: dict[str, set[str]], td: TypeDef, d: DirectiveNode) -> None:
    """``@context(name:)``: the type sets a context that ``@fromContext`` arguments read."""
    contexts.setdefault(directive_arguments(d).get("name", ""), set()).add(td.name)


def read_auth(current: AuthRequirements | None, spec: str, d: DirectiveNode) -> AuthRequirements | None:
    """Add one ``@authenticated`` / ``@requiresScopes`` / ``@policy`` application to ``current``
    (``None`` while the element asks for nothing).

    A repeated directive on one element (not composed output, but legal SDL) ANDs with
    the earlier one, as requirements from several subgraphs do.
    """
    return _add_auth(current, spec, d) or None


def _add_auth(current: AuthRequirements | None, spec: str, d: DirectiveNode) -> AuthRequirements:
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


def _unbrace(text: str) -> str:
    """A context selection is written ``{ prop }``; field sets have no outer braces."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        return text[1:-1]
    return text
