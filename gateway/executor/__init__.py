"""Plan execution: subgraph fetches, merging and response shaping (async, request-agnostic).

fetch (the run loop and requests) -> paths (finding objects) -> batching (representations)
-> merging (answers into one data tree) -> response / shaping (the client's response).
"""

from gateway.executor.fetch import (
    DOWNSTREAM_SERVICE_ERROR,
    SUBGRAPH_FETCH_FAILED,
    FetchContext,
    run_plan,
)
from gateway.executor.merging import merge
from gateway.executor.response import ResponseFormatter

__all__ = [
    "DOWNSTREAM_SERVICE_ERROR",
    "SUBGRAPH_FETCH_FAILED",
    "FetchContext",
    "ResponseFormatter",
    "merge",
    "run_plan",
]
