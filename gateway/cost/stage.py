"""Demand control in the request pipeline: estimate, enforce, report.

``measure`` computes the estimated cost and reports it; ``enforce`` also refuses an operation
whose estimate is above ``max_cost`` with ``COST_ESTIMATED_TOO_EXPENSIVE`` before any subgraph
is called (Apollo Router's code); ``off`` does nothing. The static part of an estimate is
computed once per prepared operation; only operations whose list sizes come from variables
are estimated again per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode

from gateway.supergraph.cost import CostAnnotations
from gateway.variables_key import variables_key

from .actual import actual_cost
from .estimator import CostError, CostModel, Estimate

COST_ESTIMATED_TOO_EXPENSIVE = "COST_ESTIMATED_TOO_EXPENSIVE"
MODES = ("off", "measure", "enforce")
#: Upper bounds of the estimated-cost histogram exported on /metrics.
COST_BUCKETS = (1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0)


@dataclass(frozen=True, slots=True)
class DemandControlConfig:
    mode: str = "measure"
    max_cost: float = 5000.0
    default_list_size: int = 10
    #: put ``extensions.cost`` (estimated, actual, result) in every response
    expose: bool = False


@dataclass(frozen=True, slots=True)
class PreparedCost:
    """What preparing an operation learnt: its estimate when no variable decides it; otherwise the
    estimates made so far, by the request's variable values (at most :data:`ESTIMATES_PER_OPERATION`)."""

    fragments: Mapping[str, FragmentDefinitionNode]
    static: Estimate | None = None
    static_error: str | None = None
    estimates: dict[bytes, Estimate] = field(default_factory=dict, compare=False)


ESTIMATES_PER_OPERATION = 16
"""Estimates kept per prepared operation whose cost depends on its variables (``$first`` sizing a list):
the same values (a dashboard's page size) are not estimated again; past that many, each request is."""


@dataclass(slots=True)
class CostStats:
    """Estimated costs seen (a cumulative histogram) and refusals, read by /metrics."""

    count: int = 0
    total: float = 0.0
    refused: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(COST_BUCKETS))
    bounds: tuple[float, ...] = COST_BUCKETS

    def observe(self, cost: float) -> None:
        self.count += 1
        self.total += cost
        for i, bound in enumerate(COST_BUCKETS):
            if cost <= bound:
                self.buckets[i] += 1


@dataclass(frozen=True, slots=True)
class CostVerdict:
    """The estimate of one request, or the error that refuses it."""

    estimated: float | None
    error: dict[str, Any] | None = None


class DemandControl:
    def __init__(self, schema: GraphQLSchema, annotations: CostAnnotations, config: DemandControlConfig) -> None:
        self.config = config
        self.model = CostModel(schema, annotations, config.default_list_size)
        self.stats = CostStats()

    @property
    def enabled(self) -> bool:
        return self.config.mode != "off"

    def prepare(self, document: DocumentNode, definition: OperationDefinitionNode) -> PreparedCost | None:
        if not self.enabled:
            return None
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        try:
            estimate = self.model.estimate(definition, fragments, None)
        except CostError as exc:
            if definition.variable_definitions:
                return PreparedCost(fragments)
            return PreparedCost(fragments, static_error=str(exc))
        return PreparedCost(fragments, static=None if estimate.uses_variables else estimate)

    def check(
        self, prepared: PreparedCost, definition: OperationDefinitionNode, variables: Mapping[str, Any]
    ) -> CostVerdict:
        """The request's estimate; in ``enforce`` mode an error above ``max_cost``."""
        if prepared.static_error is not None:
            return CostVerdict(None, _error(prepared.static_error, CostError.code))
        estimate = prepared.static if prepared.static is not None else self._estimate(prepared, definition, variables)
        if isinstance(estimate, str):
            return CostVerdict(None, _error(estimate, CostError.code))
        cost = estimate.cost
        self.stats.observe(cost)
        if self.config.mode == "enforce" and cost > self.config.max_cost:
            self.stats.refused += 1
            return CostVerdict(
                cost,
                _error(
                    f"The estimated cost of the operation ({cost:g}) exceeds the maximum ({self.config.max_cost:g}).",
                    COST_ESTIMATED_TOO_EXPENSIVE,
                    estimatedCost=cost,
                    maxCost=self.config.max_cost,
                ),
            )
        return CostVerdict(cost)

    def _estimate(
        self, prepared: PreparedCost, definition: OperationDefinitionNode, variables: Mapping[str, Any]
    ) -> Estimate | str:
        """The estimate for these variable values (kept on ``prepared``), or why they break a slicing rule."""
        key = variables_key(variables)  # None: values orjson cannot encode, estimated every time
        known = prepared.estimates.get(key) if key is not None else None
        if known is not None:
            return known
        try:
            estimate = self.model.estimate(definition, prepared.fragments, variables)
        except CostError as exc:
            return str(exc)
        if key is not None and len(prepared.estimates) < ESTIMATES_PER_OPERATION:
            prepared.estimates[key] = estimate
        return estimate

    def report(
        self,
        prepared: PreparedCost,
        definition: OperationDefinitionNode,
        verdict: CostVerdict,
        data: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """``extensions.cost`` of a response: estimated and actual cost, mode and result."""
        actual = actual_cost(self.model, definition, prepared.fragments, data) if verdict.error is None else None
        code = verdict.error["extensions"]["code"] if verdict.error else "COST_OK"
        return {
            "estimated": verdict.estimated,
            "actual": actual,
            "mode": self.config.mode,
            "result": code,
            "max": self.config.max_cost,
        }


def _error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}
