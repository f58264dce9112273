"""Query planning: normalised operation + supergraph -> tree of subgraph fetches (pure, no I/O)."""

from gateway.planner.errors import PlanningError
from gateway.planner.nodes import (
    FetchNode,
    FlattenNode,
    ParallelNode,
    Plan,
    PlanNode,
    Representation,
    SelSet,
    SequenceNode,
    SubscriptionNode,
)
from gateway.planner.operation import NormalizedOperation, normalize_operation
from gateway.planner.planner import QueryPlanner
from gateway.planner.printer import print_plan

__all__ = [
    "FetchNode",
    "FlattenNode",
    "NormalizedOperation",
    "ParallelNode",
    "Plan",
    "PlanNode",
    "PlanningError",
    "QueryPlanner",
    "Representation",
    "SelSet",
    "SequenceNode",
    "SubscriptionNode",
    "normalize_operation",
    "print_plan",
]
