"""Demand control: static cost estimates of operations, actual costs of responses (IBM cost spec)."""

from .actual import actual_cost
from .estimator import COST_QUERY_PARSE_FAILURE, CostError, CostModel, Estimate
from .stage import (
    COST_ESTIMATED_TOO_EXPENSIVE,
    MODES,
    CostStats,
    CostVerdict,
    DemandControl,
    DemandControlConfig,
    PreparedCost,
)

__all__ = [
    "COST_ESTIMATED_TOO_EXPENSIVE",
    "COST_QUERY_PARSE_FAILURE",
    "MODES",
    "CostError",
    "CostModel",
    "CostStats",
    "CostVerdict",
    "DemandControl",
    "DemandControlConfig",
    "Estimate",
    "PreparedCost",
    "actual_cost",
]
