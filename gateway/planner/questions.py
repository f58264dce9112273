"""Schema questions the walk asks about an operation's selections, answered from the supergraph model.

Questions about types and fields alone (kinds, possible types, keys, which subgraphs
resolve a field) are methods of :class:`gateway.supergraph.model.Supergraph`; the ones
here also look at the selections being planned.
"""

from __future__ import annotations

from typing import NamedTuple

from graphql import GraphQLObjectType

from gateway.planner.operation import OpField, OpFragment, OpSelection
from gateway.planner.position import Position, base_type
from gateway.planner.provided import covers
from gateway.supergraph.model import Supergraph


class JumpTarget(NamedTuple):
    """A subgraph that resolves a field once the object is passed to it by a key of ``entity``
    (the type itself, or an interface it implements that the subgraph has as an @interfaceObject)."""

    graph: str
    entity: str


def resolves_here(sg: Supergraph, pos: Position, f: OpField) -> bool:
    """Whether the subgraph of ``pos`` resolves ``f`` on ``pos.type`` without a jump."""
    g = pos.group.subgraph
    fg = sg.field_in_graph(pos.type, f.name, g)
    if fg is None:
        return pos.provided is not None and sg.type_in_graph(pos.type, g) and covers(
            pos.provided, pos.type, f.name, sg.applies)
    if fg.requires is not None or fg.inactive or fg.context_arguments:
        return False
    if fg.external:
        return pos.provided is not None and covers(pos.provided, pos.type, f.name, sg.applies)
    return True


def resolves_directly(sg: Supergraph, graph: str, type_name: str, sels: list[OpSelection]) -> bool:
    """Whether ``graph`` resolves all of ``sels`` (keys, mostly) on ``type_name`` directly."""
    for s in sels:
        if isinstance(s, OpFragment):
            if not resolves_directly(sg, graph, s.type_condition or type_name, s.selections):
                return False
            continue
        if s.name == "__typename":
            continue
        if not sg.can_resolve(type_name, s.name, graph):
            return False
        fg = sg.field_in_graph(type_name, s.name, graph)
        if fg is not None and fg.requires is not None:
            return False
        if s.selections:
            fd = sg.field_def(type_name, s.name)
            if fd is None or not resolves_directly(sg, graph, base_type(fd.type), s.selections):
                return False
    return True


def interface_field_uniform(sg: Supergraph, name: str, graph: str, possible: list[str]) -> bool:
    """Whether every implementation in ``possible`` resolves field ``name`` in ``graph`` as the
    interface does."""
    for r in possible:
        fg = sg.field_in_graph(r, name, graph)
        if fg is None or fg.external or fg.requires is not None or fg.inactive:
            return False
    return True


def jump_targets(sg: Supergraph, type_name: str, f: OpField, current: str) -> list[JumpTarget]:
    """The subgraphs that can resolve ``f`` after an entity jump from ``current``."""
    out: list[JumpTarget] = []
    for g in sg.subgraphs:
        fg = sg.field_in_graph(type_name, f.name, g)
        if fg is None or fg.external or fg.inactive:
            continue
        if g == current and fg.requires is None and not fg.context_arguments:
            continue
        if sg.resolvable_keys(type_name, g):
            out.append(JumpTarget(g, type_name))
    t = sg.api_schema.get_type(type_name)
    if isinstance(t, GraphQLObjectType):
        for iface in t.interfaces:
            for g in sg.subgraphs:
                if g == current or not sg.is_interface_object(iface.name, g):
                    continue
                if sg.can_resolve(iface.name, f.name, g) and sg.resolvable_keys(iface.name, g):
                    out.append(JumpTarget(g, iface.name))
    return out
