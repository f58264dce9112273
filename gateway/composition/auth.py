"""Composition rules of ``@authenticated``, ``@requiresScopes`` and ``@policy``.

Requirements several subgraphs put on one element are ANDed when decorations merge
(:func:`gateway.composition.merge_directives.merge_decorations`). This module holds the rest of
Apollo's rules (federation 2.9 and later):

- the directives may not be put on interfaces, interface fields or interface objects
  (``AUTH_REQUIREMENTS_APPLIED_ON_INTERFACE``);
- a field that reads other data through ``@requires`` or ``@fromContext`` must itself ask
  for at least what that data asks for (``MISSING_TRANSITIVE_AUTH_REQUIREMENTS``), or a
  caller could read it indirectly;
- the supergraph gives each interface what its implementations ask for: the interface
  type the AND of their type requirements, each interface field the AND of the
  requirements of that field on the implementations. A router then sees, on the
  interface itself, what a selection through it may need.
"""

from __future__ import annotations

from graphql import FieldNode, GraphQLError, InlineFragmentNode, SelectionSetNode, parse
from graphql.language import OperationDefinitionNode

from .errors import CompositionError
from .merge_directives import combine_requirements
from .subgraph_model import Decorations, SubgraphSchema
from .supergraph import ComposedSupergraph, SType

__all__ = ["check_auth_placement", "check_transitive_auth", "propagate_auth_to_interfaces"]

_CODE = "AUTH_REQUIREMENTS_APPLIED_ON_INTERFACE"


def _applied(deco: Decorations) -> list[str]:
    out = []
    if deco.authenticated:
        out.append("@authenticated")
    if deco.scopes is not None:
        out.append("@requiresScopes")
    if deco.policies is not None:
        out.append("@policy")
    return out


def _error(sg: SubgraphSchema, directive: str, what: str, coordinate: str) -> CompositionError:
    return CompositionError(
        _CODE,
        f"[{sg.name}] Invalid use of {directive} on {what}: {directive} cannot be applied on interfaces, "
        "interface fields and interface objects",
        (sg.name,),
        coordinate,
    )


def check_auth_placement(subgraphs: list[SubgraphSchema]) -> list[CompositionError]:
    """Reject authorization directives on interfaces, their fields and interface objects."""
    errors: list[CompositionError] = []
    for sg in subgraphs:
        for t in sg.types.values():
            if t.kind == "interface" or t.interface_object:
                what = "interface object" if t.interface_object else "interface"
                for directive in _applied(t.deco):
                    errors.append(_error(sg, directive, f'{what} "{t.name}"', t.name))
            if t.kind == "interface":
                for f in t.fields.values():
                    for directive in _applied(f.deco):
                        errors.append(_error(sg, directive, f'field "{t.name}.{f.name}"', f"{t.name}.{f.name}"))
    return errors


def _and(decos: list[Decorations]) -> Decorations:
    out = Decorations()
    out.authenticated = any(d.authenticated for d in decos)
    out.scopes = combine_requirements([d.scopes for d in decos])
    out.policies = combine_requirements([d.policies for d in decos])
    return out


def propagate_auth_to_interfaces(supergraph: ComposedSupergraph) -> None:
    """Give each interface (and interface field) the ANDed requirements of its implementations."""
    for iface in supergraph.types.values():
        if iface.kind != "interface":
            continue
        impls = [t for t in supergraph.types.values() if t.kind == "object" and iface.name in t.interfaces]
        if not impls:
            continue
        merged = _and([t.deco for t in impls])
        iface.deco.authenticated = merged.authenticated
        iface.deco.scopes = merged.scopes
        iface.deco.policies = merged.policies
        for fname, f in iface.fields.items():
            merged = _and([t.fields[fname].deco for t in impls if fname in t.fields])
            f.deco.authenticated = merged.authenticated
            f.deco.scopes = merged.scopes
            f.deco.policies = merged.policies


# -- transitive requirements (@requires, @fromContext) ---------------------------------------


def _implies(first: list[list[str]] | None, second: list[list[str]] | None) -> bool:
    """Whether meeting DNF ``first`` always meets DNF ``second`` (None / [] ask for nothing)."""
    a = first or [[]]
    b = second or [[]]
    return all(any(set(y) <= set(x) for y in b) for x in a)


def _satisfies(have: Decorations, need: Decorations | None) -> bool:
    if need is None:
        return True
    return (
        (have.authenticated or not need.authenticated)
        and _implies(have.scopes, need.scopes)
        and _implies(have.policies, need.policies)
    )


class _Missing(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _selection(text: str) -> SelectionSetNode | None:
    try:
        op = parse("{" + text + "}", no_location=True).definitions[0]
    except GraphQLError:
        return None  # other rules report a field set that does not parse
    assert isinstance(op, OperationDefinitionNode)
    return op.selection_set


def _verify(sg: ComposedSupergraph, have: Decorations, t: SType, sel: SelectionSetNode, directive: str) -> None:
    for s in sel.selections:
        if isinstance(s, FieldNode):
            f = t.fields.get(s.name.value)
            if f is None:
                continue
            target = sg.types.get(f.type.named)
            if not _satisfies(have, f.deco) or (target is not None and not _satisfies(have, target.deco)):
                raise _Missing(f'the transitive field "{t.name}.{f.name}" data from {directive} selection set')
            if s.selection_set is not None and target is not None:
                _verify(sg, have, target, s.selection_set, directive)
        elif isinstance(s, InlineFragmentNode):
            cond = sg.types.get(s.type_condition.name.value) if s.type_condition else None
            if cond is not None and not _satisfies(have, cond.deco):
                raise _Missing(
                    f'the transitive data in inline fragment type condition "{cond.name}" '
                    f"from {directive} selection set"
                )
            _verify(sg, have, cond or t, s.selection_set, directive)


def check_transitive_auth(sg: ComposedSupergraph) -> list[CompositionError]:
    """``MISSING_TRANSITIVE_AUTH_REQUIREMENTS``: a field must ask what its @requires / @fromContext data asks."""
    errors: list[CompositionError] = []
    names = sg.subgraph_names()
    for t in sg.types.values():
        if t.kind not in ("object", "interface"):
            continue
        for f in t.fields.values():
            have = _and([t.deco, f.deco])
            for join in f.joins:
                checks: list[tuple[SType, str, str, str | None]] = []
                if join.requires:
                    checks.append((t, join.requires, "@requires", None))
                for ctx in join.context_arguments:
                    for target in sg.types.values():
                        if ctx.context in target.contexts:
                            checks.append((target, ctx.selection, "@fromContext", ctx.context.split("__", 1)[-1]))
                for target, text, directive, context in checks:
                    try:
                        if context is not None and not _satisfies(have, target.deco):
                            raise _Missing(f"the transitive data in context {context} from @fromContext selection set")
                        sel = _selection(text.strip().removeprefix("{").removesuffix("}") if context else text)
                        if sel is not None:
                            _verify(sg, have, target, sel, directive)
                    except _Missing as missing:
                        graph = names.get(join.graph, join.graph) if join.graph else None
                        sub = (graph,) if graph else ()
                        where = f"[{graph}] " if graph else ""
                        errors.append(
                            CompositionError(
                                "MISSING_TRANSITIVE_AUTH_REQUIREMENTS",
                                f'{where}Field "{t.name}.{f.name}" does not specify necessary @authenticated, '
                                f"@requiresScopes and/or @policy auth requirements to access {missing.what}.",
                                sub,
                                f"{t.name}.{f.name}",
                            )
                        )
    return errors
