"""Printing a :class:`ComposedSupergraph` as SDL in the layout Apollo's composer uses.

Gateways (ours, Apollo Router, Hive) read this text, so the machinery (``@link``s,
``join__*`` definitions) follows the join spec exactly; types and directive
definitions are sorted by name, case-insensitively, as Apollo prints them, so that
diffs between our output and the reference's stay readable.
"""

from __future__ import annotations

import json

from graphql import print_ast
from graphql.language.block_string import print_block_string

from .merge import executable_locations
from .subgraph_model import Decorations
from .supergraph import ComposedSupergraph, JoinField, JoinType, SArgument, SField, SType

LINK_V1 = "https://specs.apollo.dev/link/v1.0"
JOIN_V03 = "https://specs.apollo.dev/join/v0.3"
JOIN_V05 = "https://specs.apollo.dev/join/v0.5"
TAG = "https://specs.apollo.dev/tag/v0.3"
INACCESSIBLE = "https://specs.apollo.dev/inaccessible/v0.2"
AUTHENTICATED = "https://specs.apollo.dev/authenticated/v0.1"
REQUIRES_SCOPES = "https://specs.apollo.dev/requiresScopes/v0.1"
POLICY = "https://specs.apollo.dev/policy/v0.1"
CONTEXT = "https://specs.apollo.dev/context/v0.1"
COST = "https://specs.apollo.dev/cost/v0.1"
CACHE_TAG = "https://specs.apollo.dev/cacheTag/v0.1"

_LINK_PURPOSE = '''enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}'''


def _s(value: str) -> str:
    """A GraphQL string literal (JSON's escaping is valid GraphQL string escaping)."""
    return json.dumps(value, ensure_ascii=False)


def _desc(text: str | None, indent: str, first: bool) -> str:
    if not text:
        return ""
    block = print_block_string(text)
    lines = block.split("\n")
    body = "\n".join(indent + line if line else line for line in lines)
    return ("" if first or not indent else "\n") + body + "\n"


class _Features:
    """Which optional specs the supergraph uses, decided by walking it once."""

    def __init__(self, sg: ComposedSupergraph) -> None:
        self.tag = self.inaccessible = self.authenticated = self.scopes = self.policy = False
        self.override_label = False
        self.context = self.cost = self.list_size = False
        self.join_directives: set[str] = set()
        for t in sg.types.values():
            self._deco(t.deco)
            self.context |= bool(t.contexts)
            for f in t.fields.values():
                self._deco(f.deco)
                self.override_label |= any(j.override_label for j in f.joins)
                for a in f.args.values():
                    self._deco(a.deco)
            for a in t.input_fields.values():
                self._deco(a.deco)
            for v in t.values.values():
                self._deco(v.deco)

    def _deco(self, d: Decorations) -> None:
        self.tag |= bool(d.tags)
        self.inaccessible |= d.inaccessible
        self.authenticated |= d.authenticated
        self.scopes |= d.scopes is not None
        self.policy |= d.policies is not None
        self.cost |= d.cost is not None or d.list_size is not None
        self.list_size |= d.list_size is not None
        self.join_directives.update(j.name for j in d.join_directives)


def print_supergraph(sg: ComposedSupergraph) -> str:
    """The supergraph SDL."""
    feats = _Features(sg)
    join_v05 = feats.override_label or feats.context or feats.cost or bool(feats.join_directives)
    links = [f"@link(url: {_s(LINK_V1)})", f"@link(url: {_s(JOIN_V05 if join_v05 else JOIN_V03)}, for: EXECUTION)"]
    if feats.tag:
        links.append(f"@link(url: {_s(TAG)})")
    if feats.inaccessible:
        links.append(f"@link(url: {_s(INACCESSIBLE)}, for: SECURITY)")
    if feats.authenticated:
        links.append(f"@link(url: {_s(AUTHENTICATED)}, for: SECURITY)")
    if feats.context:
        links.append(f"@link(url: {_s(CONTEXT)}, for: SECURITY)")
    if feats.scopes:
        links.append(f"@link(url: {_s(REQUIRES_SCOPES)}, for: SECURITY)")
    if feats.policy:
        links.append(f"@link(url: {_s(POLICY)}, for: SECURITY)")
    if feats.cost:
        links.append(f"@link(url: {_s(COST)}" + (', import: ["@listSize"])' if feats.list_size else ")"))
    seen_urls: set[str] = set()
    for d in sg.directives.values():
        if d.link_url and d.link_url not in seen_urls:
            seen_urls.add(d.link_url)
            imports = [x.link_import for x in sg.directives.values() if x.link_url == d.link_url and x.link_import]
            links.append(f"@link(url: {_s(d.link_url)}, import: [{', '.join(_s(i) for i in imports)}])")
    if "federation__cacheTag" in feats.join_directives:
        links.append(f"@link(url: {_s(CACHE_TAG)}, for: EXECUTION)")
    out: list[str] = []
    schema = "schema\n" + "".join(f"  {link}\n" for link in links) + "{\n"
    schema += "".join(f"  {kind}: {name}\n" for kind, name in sg.roots.items()) + "}"
    out.append(schema)

    directives: dict[str, str] = {}
    if feats.authenticated:
        directives["authenticated"] = (
            "directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM"
        )
    if feats.context:
        directives["context"] = "directive @context(name: String!) repeatable on INTERFACE | OBJECT | UNION"
        directives["context__fromContext"] = (
            "directive @context__fromContext(field: context__ContextFieldValue) on ARGUMENT_DEFINITION"
        )
    if feats.cost:
        directives["cost"] = (
            "directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | "
            "INPUT_FIELD_DEFINITION | OBJECT | SCALAR"
        )
        list_size = "listSize" if feats.list_size else "cost__listSize"
        directives[list_size] = (
            f"directive @{list_size}(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], "
            "requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION"
        )
    if feats.inaccessible:
        directives["inaccessible"] = (
            "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | "
            "SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
        )
    if join_v05:
        directives["join__directive"] = (
            "directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) "
            "repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION"
        )
    directives["join__enumValue"] = "directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE"
    label = ", overrideLabel: String" if join_v05 else ""
    ctx = ", contextArguments: [join__ContextArgument!]" if join_v05 else ""
    directives["join__field"] = (
        "directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, "
        f"type: String, external: Boolean, override: String, usedOverridden: Boolean{label}{ctx}) "
        "repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION"
    )
    directives["join__graph"] = "directive @join__graph(name: String!, url: String!) on ENUM_VALUE"
    directives["join__implements"] = (
        "directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE"
    )
    directives["join__type"] = (
        "directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, "
        "resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | "
        "UNION | ENUM | INPUT_OBJECT | SCALAR"
    )
    directives["join__unionMember"] = (
        "directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION"
    )
    directives["link"] = (
        "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA"
    )
    if feats.policy:
        directives["policy"] = (
            "directive @policy(policies: [[policy__Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | "
            "SCALAR | ENUM"
        )
    if feats.scopes:
        directives["requiresScopes"] = (
            "directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on FIELD_DEFINITION | OBJECT | "
            "INTERFACE | SCALAR | ENUM"
        )
    if feats.tag:
        directives["tag"] = (
            "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | "
            "ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA"
        )
    for name, d in sg.directives.items():
        node = d.definition
        if d.link_url is None:
            # Only the executable part of a plain directive reaches clients; its type-system
            # locations meant something to one subgraph only.
            locs = d.locations or executable_locations(node)
            text = print_ast(node)
            head = text.split(" on ")[0]
            directives[name] = f"{head} on {' | '.join(locs)}"
        else:
            directives[name] = print_ast(node).replace("\n", " ")
    for name in sorted(directives, key=str.lower):
        out.append(directives[name])

    blocks: dict[str, str] = {}
    for t in sg.types.values():
        blocks[t.name] = _print_type(t)
    if join_v05:
        blocks["join__ContextArgument"] = (
            "input join__ContextArgument {\n  name: String!\n  type: String!\n  context: String!\n"
            "  selection: join__FieldValue!\n}"
        )
        blocks["join__DirectiveArguments"] = "scalar join__DirectiveArguments"
        blocks["join__FieldValue"] = "scalar join__FieldValue"
    blocks["join__FieldSet"] = "scalar join__FieldSet"
    blocks["join__Graph"] = (
        "enum join__Graph {\n"
        + "".join(f"  {g.enum} @join__graph(name: {_s(g.name)}, url: {_s(g.url)})\n" for g in sg.graphs)
        + "}"
    )
    blocks["link__Import"] = "scalar link__Import"
    blocks["link__Purpose"] = _LINK_PURPOSE
    if feats.scopes:
        blocks["requiresScopes__Scope"] = "scalar requiresScopes__Scope"
    if feats.context:
        blocks["context__ContextFieldValue"] = "scalar context__ContextFieldValue"
    if feats.policy:
        blocks["policy__Policy"] = "scalar policy__Policy"
    for name in sorted(blocks, key=str.lower):
        out.append(blocks[name])
    return "\n\n".join(out) + "\n"


def _join_type(j: JoinType) -> str:
    parts = [f"graph: {j.graph}"]
    if j.key is not None:
        parts.append(f"key: {_s(j.key)}")
    if j.extension:
        parts.append("extension: true")
    if not j.resolvable:
        parts.append("resolvable: false")
    if j.is_interface_object:
        parts.append("isInterfaceObject: true")
    return f"@join__type({', '.join(parts)})"


def _join_field(j: JoinField) -> str:
    parts: list[str] = []
    if j.graph is not None:
        parts.append(f"graph: {j.graph}")
    if j.requires is not None:
        parts.append(f"requires: {_s(j.requires)}")
    if j.provides is not None:
        parts.append(f"provides: {_s(j.provides)}")
    if j.type is not None:
        parts.append(f"type: {_s(j.type)}")
    if j.external:
        parts.append("external: true")
    if j.override is not None:
        parts.append(f"override: {_s(j.override)}")
    if j.used_overridden:
        parts.append("usedOverridden: true")
    if j.override_label is not None:
        parts.append(f"overrideLabel: {_s(j.override_label)}")
    if j.context_arguments:
        items = [
            f"{{context: {_s(c.context)}, name: {_s(c.name)}, type: {_s(c.type)}, selection: {_s(c.selection)}}}"
            for c in j.context_arguments
        ]
        parts.append(f"contextArguments: [{', '.join(items)}]")
    return f"@join__field({', '.join(parts)})" if parts else "@join__field"


def _requirements(rows: list[list[str]]) -> str:
    return "[" + ", ".join("[" + ", ".join(_s(x) for x in row) + "]" for row in rows) + "]"


def _decorations(d: Decorations, joins: list[str], include_deprecated: bool = True) -> list[str]:
    """Applied directives in the order Apollo prints them."""
    out: list[str] = []
    if d.inaccessible:
        out.append("@inaccessible")
    out.extend(joins)
    out.extend(
        f"@join__directive(graphs: [{', '.join(j.graphs)}], name: {_s(j.name)}, args: {j.args})"
        for j in d.join_directives
    )
    if d.authenticated:
        out.append("@authenticated")
    if d.scopes is not None:
        out.append(f"@requiresScopes(scopes: {_requirements(d.scopes)})")
    if d.policies is not None:
        out.append(f"@policy(policies: {_requirements(d.policies)})")
    out.extend(f"@tag(name: {_s(t)})" for t in d.tags)
    out.extend(_demand(d))
    out.extend(d.composed)
    if d.specified_by is not None:
        out.append(f"@specifiedBy(url: {_s(d.specified_by)})")
    if include_deprecated and d.deprecated is not None:
        if d.deprecated == "No longer supported":
            out.append("@deprecated")
        else:
            out.append(f"@deprecated(reason: {_s(d.deprecated)})")
    return out


def _demand(d: Decorations) -> list[str]:
    """``@cost`` and ``@listSize``, in the order the subgraph wrote them."""
    cost = [f"@cost(weight: {d.cost})"] if d.cost is not None else []
    if d.list_size is None:
        return cost
    ls = d.list_size
    parts: list[str] = []
    if ls.assumed_size is not None:
        parts.append(f"assumedSize: {ls.assumed_size}")
    if ls.slicing_arguments is not None:
        parts.append(f"slicingArguments: [{', '.join(_s(x) for x in ls.slicing_arguments)}]")
    if ls.sized_fields is not None:
        parts.append(f"sizedFields: [{', '.join(_s(x) for x in ls.sized_fields)}]")
    if ls.require_one_slicing_argument is False:
        parts.append("requireOneSlicingArgument: false")
    listed = [f"@listSize({', '.join(parts)})" if parts else "@listSize"]
    return cost + listed if d.cost_first else listed + cost


def _args(args: dict[str, SArgument], indent: str) -> str:
    if not args:
        return ""
    rendered = [_input_value(a, indent + "  ") for a in args.values()]
    if any(a.deco.description for a in args.values()):
        body = ""
        for i, a in enumerate(args.values()):
            body += _desc(a.deco.description, indent + "  ", i == 0) + indent + "  " + rendered[i].strip() + "\n"
        return "(\n" + body + indent + ")"
    return "(" + ", ".join(r.strip() for r in rendered) + ")"


def _input_value(a: SArgument, indent: str) -> str:
    text = f"{indent}{a.name}: {a.type}"
    if a.default is not None:
        text += f" = {a.default}"
    dirs = _decorations(a.deco, [_join_field(j) for j in a.joins])
    if dirs:
        text += " " + " ".join(dirs)
    return text


def _field(f: SField, first: bool) -> str:
    text = _desc(f.deco.description, "  ", first)
    text += f"  {f.name}{_args(f.args, '  ')}: {f.type}"
    dirs = _decorations(f.deco, [_join_field(j) for j in f.joins])
    if dirs:
        text += " " + " ".join(dirs)
    return text


def _print_type(t: SType) -> str:
    head = _desc(t.deco.description, "", True)
    keyword = {"object": "type", "interface": "interface", "union": "union", "enum": "enum", "input": "input"}.get(
        t.kind, "scalar"
    )
    head += f"{keyword} {t.name}"
    if t.interfaces and t.kind in ("object", "interface"):
        head += " implements " + " & ".join(t.interfaces)
    joins = [f"@join__implements(graph: {g}, interface: {_s(i)})" for g, i in t.implements]
    joins += [_join_type(j) for j in t.join_types]
    # Apollo groups union memberships by member (in member order), then by graph.
    by_member = sorted(t.union_members, key=lambda gm: t.members.index(gm[1]) if gm[1] in t.members else 0)
    joins += [f"@join__unionMember(graph: {g}, member: {_s(m)})" for g, m in by_member]
    dirs = _decorations(t.deco, [], include_deprecated=False)
    dirs += [f"@context(name: {_s(c)})" for c in t.contexts]
    # Apollo prints @inaccessible after the join directives on types.
    applied = joins + dirs
    head += "".join(f"\n  {d}" for d in applied)
    if t.kind == "scalar":
        return head
    if t.kind == "union":
        return head + ("\n = " + " | ".join(t.members) if t.members else "")
    if applied:
        head += "\n"
    else:
        head += " "
    lines: list[str] = []
    if t.kind in ("object", "interface"):
        for i, f in enumerate(t.fields.values()):
            lines.append(_field(f, i == 0))
    elif t.kind == "input":
        for i, a in enumerate(t.input_fields.values()):
            lines.append(_desc(a.deco.description, "  ", i == 0) + _input_value(a, "  "))
    elif t.kind == "enum":
        for i, v in enumerate(t.values.values()):
            dirs = _decorations(v.deco, [f"@join__enumValue(graph: {g})" for g in v.graphs])
            lines.append(_desc(v.deco.description, "  ", i == 0) + f"  {v.name}" + "".join(" " + d for d in dirs))
    return head + "{\n" + "\n".join(lines) + "\n}"
