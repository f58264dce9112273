"""Composition rules of ``@authenticated``, ``@requiresScopes`` and ``@policy``.

Requirements several subgraphs put on one element are ANDed when decorations merge
(:func:`gateway.composition.merge.merge_decorations`). This module holds the rest of
Apollo's rules (federation 2.9 and later):

- the directives may not be put on interfaces, interface fields or interface objects
  (``AUTH_REQUIREMENTS_APPLIED_ON_INTERFACE``);
- the supergraph gives each interface what its implementations ask for: the interface
  type the AND of their type requirements, each interface field the AND of the
  requirements of that field on the implementations. A router then sees, on the
  interface itself, what a selection through it may need.
"""

from __future__ import annotations

from .errors import CompositionError
from .merge import _combine_requirements
from .subgraph import Decorations, Subgraph
from .supergraph import Supergraph

__all__ = ["check_auth_placement", "propagate_auth_to_interfaces"]

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


def _error(sg: Subgraph, directive: str, what: str, coordinate: str) -> CompositionError:
    return CompositionError(
        _CODE,
        f"[{sg.name}] Invalid use of {directive} on {what}: {directive} cannot be applied on interfaces, "
        "interface fields and interface objects",
        (sg.name,),
        coordinate,
    )


def check_auth_placement(subgraphs: list[Subgraph]) -> list[CompositionError]:
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
    out.scopes = _combine_requirements([d.scopes for d in decos])
    out.policies = _combine_requirements([d.policies for d in decos])
    return out


def propagate_auth_to_interfaces(supergraph: Supergraph) -> None:
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
