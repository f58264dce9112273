"""The walk: the operation's selections, depth first, put into fetch groups.

At every field the walk stays in the subgraph that already holds the parent object
when that subgraph can resolve the field (staying never costs a fetch); otherwise it
hands the field to :class:`gateway.planner.jumps.KeyJumps`, which takes an edge to
another subgraph. Abstract types are kept as they are when the subgraph resolves the
whole selection, and exploded into their concrete types otherwise.

Below a fragment that narrows a union or interface to one member, response paths name
that member (``review|[UserReview].product``): entity fetches there only take that
member's objects. Every fetch group remembers the @skip/@include conditions common to
all the selections it serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gateway.planner.cost import CostModel
from gateway.planner.errors import PlanningError
from gateway.planner.groups import FetchGroup, FetchGroups
from gateway.planner.jumps import KeyJumps
from gateway.planner.nodes import TYPE_FILTER
from gateway.planner.operation import (
    Condition,
    NormalizedOperation,
    OpField,
    OpFragment,
    OpSelection,
    fieldset_selections,
)
from gateway.planner.position import ChainStep, ClientNames, Position, base_type, client_names, fragment_step
from gateway.planner.provided import Provided, below, narrowed
from gateway.planner.questions import interface_field_uniform, resolves_here
from gateway.supergraph.model import Supergraph

MAX_DEPTH = 24 * 8  # nested walk and jump steps before an operation counts as too deep to plan


@dataclass
class Walk:
    """One planning attempt: the groups built so far and the walk's own bookkeeping."""

    sg: Supergraph
    op: NormalizedOperation
    cost: CostModel
    groups: FetchGroups = field(default_factory=FetchGroups)
    # root field index -> subgraphs already found unable to serve it (see QueryPlanner.plan)
    excluded: dict[int, set[str]] = field(default_factory=dict)
    ancestors: list[Position] = field(default_factory=list)  # positions above, for @fromContext
    depth: int = 0

    def __post_init__(self) -> None:
        self.jumps = KeyJumps(self)

    def deeper(self) -> None:
        """Count one nested step (undone by ``self.depth -= 1`` in the caller's ``finally``)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PlanningError("operation too deep to plan")

    def plan_sels(self, pos: Position, sels: list[OpSelection]) -> set[FetchGroup]:
        """Plan ``sels`` on the object(s) at ``pos``; returns the groups that produce their data."""
        self.deeper()
        try:
            if any(not (isinstance(s, OpField) and s.helper) for s in sels):
                names: ClientNames = dict(pos.client or {})
                client_names(sels, names)
                pos.client = names
            kind = self.sg.kind(pos.type)
            if kind == "object":
                return self.plan_object(pos, sels)
            if kind == "interface" and self.sg.is_interface_object(pos.type, pos.group.subgraph):
                return self.plan_interface_object(pos, sels)
            return self.plan_abstract(pos, sels)
        finally:
            self.depth -= 1

    def plan_object(self, pos: Position, sels: list[OpSelection]) -> set[FetchGroup]:
        providers: set[FetchGroup] = set()
        for s in sels:
            if isinstance(s, OpFragment):
                if not self.sg.applies(s.type_condition, pos.type):
                    continue
                sub = pos
                if s.directives:
                    sub = replace(pos, selset=pos.selset.add_fragment(None, s.directives),
                                  conds=pos.conds | frozenset(s.conditions))
                    pos.group.variables |= s.variables
                providers |= self.plan_object(sub, s.selections)
            else:
                providers |= self.plan_field(pos, s)
        return providers

    def plan_interface_object(self, pos: Position, sels: list[OpSelection]) -> set[FetchGroup]:
        """The subgraph knows the interface only as an @interfaceObject: concrete types live elsewhere."""
        local: list[OpSelection] = []
        remote: list[OpSelection] = []
        for s in sels:
            if isinstance(s, OpField) and (s.name != "__typename" or s.helper):
                local.append(s)
            elif isinstance(s, OpFragment) and s.type_condition in (None, pos.type) and not s.directives:
                (local if all(isinstance(x, OpField) and x.name != "__typename" for x in s.selections)
                 else remote).append(s)
            else:
                remote.append(s)
        providers: set[FetchGroup] = {pos.group}
        # the interface's name comes back as __typename; it tells the response formatter that
        # the object is there (the concrete type replaces it when fetched)
        pos.selset.add_field("__typename", "__typename")
        for s in local:
            if isinstance(s, OpFragment):
                providers |= self.plan_object(pos, s.selections)
            else:
                providers |= self.plan_field(pos, s)
        if remote:
            # find a subgraph where the interface is a real (entity) interface
            target = None
            for g in self.sg.subgraphs:
                if g == pos.group.subgraph or self.sg.is_interface_object(pos.type, g):
                    continue
                if self.sg.resolvable_keys(pos.type, g):
                    target = g
                    break
            if target is None:
                # nothing knows the concrete types: the interface object's own __typename is all we have
                pos.selset.add_field("__typename", "__typename")
                return providers | {pos.group}
            tpos, deps = self.jumps.entity_position(pos, target, pos.type, None)
            tpos.group.deps |= deps
            providers |= self.plan_abstract(tpos, remote)
        return providers

    def _member(self, pos: Position, type_name: str, directives: str, conds: frozenset[Condition]) -> Position:
        """The position for objects of member ``type_name`` below the abstract position ``pos``."""
        member = Position(group=pos.group, selset=pos.selset.add_fragment(type_name, directives), type=type_name,
                          path=pos.path, provided=narrowed(pos.provided, type_name, self.sg.applies),
                          entry_key=pos.entry_key, client=pos.client, type_filter=type_name, conds=conds)
        _narrow_anchor(pos, member)
        if self._is_entity_here(type_name, pos.group.subgraph):
            # an entity: other subgraphs can be reached by its key (or higher up, see Position.anchors)
            member.outer_anchor, member.outer_chain = member.anchor, member.chain
            member.anchor, member.chain = member, ()
        return member

    def _is_entity_here(self, type_name: str, graph: str) -> bool:
        td = self.sg.types.get(type_name)
        tg = td.graphs.get(graph) if td is not None else None
        return tg is not None and bool(tg.keys)

    def plan_abstract(self, pos: Position, sels: list[OpSelection]) -> set[FetchGroup]:
        sg = self.sg
        graph = pos.group.subgraph
        pos.selset.add_field("__typename", "__typename")
        providers: set[FetchGroup] = {pos.group}
        possible = sg.possible_types_in_graph(pos.type, graph)
        is_iface = sg.kind(pos.type) == "interface"
        for s in sels:
            if isinstance(s, OpField):
                if s.name == "__typename":
                    if s.response_name != "__typename" or s.directives:
                        pos.selset.add_field(s.response_name, "__typename", "", s.directives)
                    continue
                if is_iface and resolves_here(sg, pos, s) and interface_field_uniform(sg, s.name, graph, possible):
                    providers |= self.plan_field(pos, s)
                    continue
                if not possible:
                    # no object type of this subgraph can be here: the field is unreachable
                    raise PlanningError(f"cannot resolve {pos.type}.{s.name} from subgraph {graph!r}")
                for r in possible:
                    if r not in sg.api_possible_types(pos.type):
                        continue
                    providers |= self.plan_field(self._member(pos, r, "", pos.conds), s)
                continue
            cond = s.type_condition or pos.type
            fconds = pos.conds | frozenset(s.conditions)
            if cond == pos.type:
                pos.group.variables |= s.variables
                sub = pos
                if s.directives:
                    sub = Position(group=pos.group, selset=pos.selset.add_fragment(None, s.directives),
                                   type=pos.type, path=pos.path, provided=pos.provided, entry_key=pos.entry_key,
                                   client=pos.client, anchor=pos.anchor, chain=pos.chain, conds=fconds)
                providers |= self.plan_abstract(sub, s.selections)
                continue
            if sg.kind(cond) == "object":
                if cond not in possible:
                    continue  # this subgraph never returns that type here (nor uses the fragment's variables)
                pos.group.variables |= s.variables
                providers |= self.plan_object(self._member(pos, cond, s.directives, fconds), s.selections)
                continue
            overlap = [r for r in possible if r in sg.api_possible_types(cond)]
            if not overlap:
                continue
            pos.group.variables |= s.variables
            if (
                sg.type_in_graph(cond, graph)
                and not sg.is_interface_object(cond, graph)
                and set(overlap) <= set(sg.possible_types_in_graph(cond, graph))
            ):
                rpos = Position(group=pos.group, selset=pos.selset.add_fragment(cond, s.directives), type=cond,
                                path=pos.path, provided=pos.provided, entry_key=pos.entry_key, client=pos.client,
                                conds=fconds)
                _narrow_anchor(pos, rpos)
                providers |= self.plan_abstract(rpos, s.selections)
                continue
            for r in overlap:
                providers |= self.plan_object(self._member(pos, r, s.directives, fconds), s.selections)
        return providers

    def plan_field(self, pos: Position, f: OpField) -> set[FetchGroup]:
        if f.conditions:
            pos = replace(pos, conds=pos.conds | frozenset(f.conditions))
        pos.group.use(pos.conds)
        if f.name == "__typename":
            pos.selset.add_field(f.response_name, "__typename", "", f.directives)
            pos.group.variables |= f.variables
            return {pos.group}
        if resolves_here(self.sg, pos, f):
            return self.add_local(pos, f)
        if not f.selections and not f.args and f.name in pos.entry_key and f.response_name == f.name:
            return {pos.group}  # a key field: already in the data from the fetch that led here
        return self.jumps.jump(pos, f)

    def add_local(self, pos: Position, f: OpField) -> set[FetchGroup]:
        """Select ``f`` in the fetch of ``pos`` (its subgraph resolves it) and walk below it."""
        sg = self.sg
        graph = pos.group.subgraph
        fd = sg.field_def(pos.type, f.name)
        if fd is None:
            raise PlanningError(f"unknown field {pos.type}.{f.name}")
        fg = sg.field_in_graph(pos.type, f.name, graph)
        sub_type_str = (fg.type if fg is not None and fg.type else None) or fd.type
        sub_type = base_type(sub_type_str)
        rn = pos.helper_name(f)
        sub = pos.selset.add_field(rn, f.name, f.args, f.directives, sg.is_composite(sub_type), sub_type_str)
        pos.group.variables |= f.variables
        if sub is None or not f.selections:
            return {pos.group}
        if sg.kind(sub_type) == "object" and sg.kind(base_type(fd.type)) != "object":
            # abstract in the API, one object type in this subgraph: the response says which
            sub.add_field("__typename", "__typename")
        path = pos.path + ((TYPE_FILTER + pos.type_filter,) if pos.type_filter else ()) + (rn,)
        path += ("@",) * fd.type.count("[")
        if fg is not None and fg.provides is not None:
            provided: Provided | None = Provided.of(fieldset_selections(fg.provides))
        else:
            provided = below(pos.provided, pos.type, f.name, sg.applies)
        pos.group.use(pos.conds)
        child = Position(group=pos.group, selset=sub, type=sub_type, path=path, provided=provided, conds=pos.conds)
        step = ChainStep(parent_type=pos.type, response_name=rn, name=f.name, args=f.args, directives=f.directives,
                         variables=f.variables)
        if sg.kind(sub_type) == "object" and self._is_entity_here(sub_type, graph):
            child.anchor = child  # an entity here: other subgraphs can be reached by its key
            if pos.anchor is not None:
                child.outer_anchor, child.outer_chain = pos.anchor, (*pos.chain, step)
        elif pos.anchor is not None:  # a value type, or an abstract type narrowed below (see _member)
            child.anchor = pos.anchor
            child.chain = (*pos.chain, step)
        self.ancestors.append(pos)  # @fromContext reads from the objects above
        try:
            return {pos.group} | self.plan_sels(child, f.selections)
        finally:
            self.ancestors.pop()


def _narrow_anchor(pos: Position, narrowed_pos: Position) -> None:
    """Keep the way back to ``pos``'s anchor below a fragment narrowing ``pos`` to another type."""
    if pos.anchor is not None:
        narrowed_pos.anchor = pos.anchor
        narrowed_pos.chain = (*pos.chain, fragment_step(pos.type, narrowed_pos.type))
