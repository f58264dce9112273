"""The cost model: how many further fetches a choice will need, with named weights.

The planner asks it to rank the subgraphs that could serve a root field or a field
reached by a key jump. A cost is a rough count of extra fetches, not a time: a field
the candidate subgraph resolves itself (or that an enclosing ``@provides`` covers)
costs nothing, a field another subgraph must supply costs :attr:`CostWeights.jump`
plus the cost of its own selections there.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.planner.operation import OpField, OpFragment, OpSelection, fieldset_selections
from gateway.planner.position import base_type
from gateway.planner.provided import Provided, narrowed
from gateway.supergraph.model import Supergraph


@dataclass(frozen=True, slots=True)
class CostWeights:
    """The weights of the estimate (the defaults are what every plan snapshot was made with)."""

    jump: int = 1  # a field the candidate cannot resolve: another fetch
    unresolvable: int = 1  # a field no subgraph resolves (reached only some other way)
    key_not_local: int = 2  # a jump whose key the current subgraph cannot supply directly
    new_fetch: int = 1  # no fetch to that subgraph at that path exists yet
    depth_limit: int = 6  # nested levels looked at; deeper selections count as free


DEFAULT_WEIGHTS = CostWeights()


@dataclass(frozen=True, slots=True)
class JumpChoice:
    """A candidate for resolving a field after an entity jump, as the cost model sees it."""

    key_local: bool  # the current subgraph supplies one of the candidate's keys itself
    fetch_exists: bool  # an entity fetch to that subgraph at that path is planned already
    selection_cost: int  # the estimate of the field's selections in the candidate


class CostModel:
    """Estimates over one supergraph."""

    def __init__(self, supergraph: Supergraph, weights: CostWeights = DEFAULT_WEIGHTS) -> None:
        self.sg = supergraph
        self.weights = weights

    def estimate(self, graph: str, type_name: str, sels: list[OpSelection], depth: int = 0,
                 provided: Provided | None = None) -> int:
        """Rough number of extra fetches needed to resolve ``sels`` starting in ``graph``
        (fields an enclosing ``@provides`` covers there count as local)."""
        w = self.weights
        if depth > w.depth_limit:
            return 0
        sg = self.sg
        cost = 0
        kind = sg.kind(type_name)
        for s in sels:
            if isinstance(s, OpFragment):
                cond = s.type_condition or type_name
                if sg.kind(cond) == "object" and kind != "object":
                    if not sg.type_in_graph(cond, graph):
                        continue
                cost += self.estimate(graph, cond, s.selections, depth + 1, narrowed(provided, cond, sg.applies))
                continue
            if s.name == "__typename":
                continue
            fd = sg.field_def(type_name, s.name)
            if fd is None:
                continue
            fg = sg.field_in_graph(type_name, s.name, graph)
            covered = provided.field(type_name, s.name, sg.applies) if provided else None
            local = fg is not None and not fg.external and not fg.inactive and fg.requires is None
            if local or (covered is not None and (fg is None or fg.requires is None)):
                if s.selections:
                    sub_provided = (Provided.of(fieldset_selections(fg.provides))
                                    if fg is not None and fg.provides is not None else covered)
                    sub_type = base_type(fg.type if fg is not None and fg.type else fd.type)
                    cost += self.estimate(graph, sub_type, s.selections, depth + 1, sub_provided or None)
                continue
            others = sg.resolving_graphs(type_name, s.name)
            if not others:
                cost += w.unresolvable
                continue
            best = min(
                (self.estimate(o, base_type(fd.type), s.selections, depth + 1) if s.selections else 0)
                for o in others
            )
            cost += w.jump + best
        return cost

    def jump_cost(self, choice: JumpChoice) -> int:
        """The cost of resolving a field through one entity-jump candidate."""
        w = self.weights
        cost = 0 if choice.key_local else w.key_not_local
        if not choice.fetch_exists:
            cost += w.new_fetch
        return cost + choice.selection_cost

    def root_cost(self, graph: str, root: str, f: OpField, *, fetch_exists: bool) -> tuple[int, int, int]:
        """The rank of ``graph`` for root field ``f``: cost, then a fetch already planned there,
        then the subgraphs' declaration order."""
        existing = 0 if fetch_exists else self.weights.new_fetch
        return (self.estimate(graph, root, [f]) + existing, existing, self.sg.graph_order[graph])
