"""Planning errors."""

from __future__ import annotations


class PlanningError(Exception):
    """The operation cannot be planned against this supergraph."""


class RootFieldFailed(Exception):
    """Root field number ``index`` cannot be planned in ``graph`` (another subgraph may serve it)."""

    def __init__(self, index: int, graph: str, cause: PlanningError) -> None:
        super().__init__(str(cause))
        self.index = index
        self.graph = graph
        self.cause = cause
