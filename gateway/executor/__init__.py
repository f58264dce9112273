"""Plan execution: subgraph fetches, merging and response shaping (async, request-agnostic)."""

from gateway.executor.fetch import (
    DOWNSTREAM_SERVICE_ERROR,
    SUBGRAPH_FETCH_FAILED,
    FetchContext,
    merge,
    run_plan,
)
from gateway.executor.response import ResponseFormatter

__all__ = [
    "DOWNSTREAM_SERVICE_ERROR",
    "SUBGRAPH_FETCH_FAILED",
    "FetchContext",
    "ResponseFormatter",
    "merge",
    "run_plan",
]
