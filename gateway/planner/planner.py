"""The query planner: a normalised operation in, a tree of subgraph fetches out.

``QueryPlanner.plan`` is the pipeline, one module per stage:

1. :mod:`~gateway.planner.roots` picks the subgraph of each root field (ranked by
   :mod:`~gateway.planner.cost`) and starts :mod:`~gateway.planner.walk` below it; the walk
   asks :mod:`~gateway.planner.questions` and the supergraph model what resolves where,
   follows :mod:`~gateway.planner.jumps` into other subgraphs, and fills
   :mod:`~gateway.planner.groups` (one fetch group per future fetch);
2. :func:`~gateway.planner.groups.finished` drops empty groups and settles each group's
   dependencies and conditions;
3. :mod:`~gateway.planner.arrange` makes the Sequence / Parallel tree from the dependencies,
   with :mod:`~gateway.planner.fetches` printing each group's subgraph operation.

A subscription is planned like a query and then split (Apollo's shape): its one root fetch,
with the key fields the walk added for the jumps below it, is the :class:`SubscriptionNode`'s
``primary`` (sent to the owning subgraph as a subscription); the fetches that depend on it are
the ``rest``, run over each event's data.
"""

from __future__ import annotations

from gateway.planner.arrange import arrange, in_sequence
from gateway.planner.cost import CostModel
from gateway.planner.errors import PlanningError, RootFieldFailed
from gateway.planner.fetches import fetch_node
from gateway.planner.groups import FetchGroup, finished
from gateway.planner.nodes import FetchNode, Plan, PlanNode, SubscriptionNode
from gateway.planner.operation import NormalizedOperation
from gateway.planner.roots import plan_fetch_groups
from gateway.supergraph.model import Supergraph

_ATTEMPTS = 64  # plannings of one operation, each without a root subgraph found impossible before


class QueryPlanner:
    """Plans operations against one supergraph. Pure: no I/O, deterministic."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.sg = supergraph
        self.schema = supergraph.api_schema
        self.cost = CostModel(supergraph)

    def plan(self, op: NormalizedOperation) -> Plan | None:
        """The plan tree for ``op`` (``None`` when no subgraph is needed)."""
        sections = self._fetch_groups(op)
        if op.kind == "subscription":
            return self._subscription(finished(sections[0]), op)
        return in_sequence([self._arranged(finished(groups), op) for groups in sections])

    def _subscription(self, groups: list[FetchGroup], op: NormalizedOperation) -> SubscriptionNode:
        roots = [g for g in groups if not g.is_entity]
        if len(roots) != 1:
            raise PlanningError("a subscription needs exactly one root field served by one subgraph")
        primary = fetch_node(roots[0], op)
        assert isinstance(primary, FetchNode)
        return SubscriptionNode(primary, self._arranged([g for g in groups if g is not roots[0]], op))

    def _fetch_groups(self, op: NormalizedOperation) -> list[list[FetchGroup]]:
        # A root field served by several subgraphs is tried in order of estimated cost; when the
        # chosen one turns out impossible (e.g. a needed key is @external there), plan again
        # without it.
        excluded: dict[int, set[str]] = {}
        last: PlanningError | None = None
        for _ in range(_ATTEMPTS):
            try:
                return plan_fetch_groups(self.sg, op, self.cost, excluded)
            except RootFieldFailed as failed:
                excluded.setdefault(failed.index, set()).add(failed.graph)
                last = failed.cause
        raise last or PlanningError("no subgraph combination can resolve this operation")

    @staticmethod
    def _arranged(groups: list[FetchGroup], op: NormalizedOperation) -> PlanNode | None:
        if not groups:
            return None
        return arrange(groups, lambda g: fetch_node(g, op))
