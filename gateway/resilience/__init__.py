"""Resilience towards subgraphs: circuit breakers, retries with a budget, in-flight deduplication.

The transport (:mod:`gateway.transport`) applies them around each subgraph request;
:mod:`gateway.resilience.health` reports them (and optional probes) to ``/health/ready``.
"""

from gateway.resilience.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitSnapshot
from gateway.resilience.config import BreakerConfig, ResilienceConfig, RetryConfig, resilience_from_settings
from gateway.resilience.policy import Resilience

SUBGRAPH_CIRCUIT_OPEN = "SUBGRAPH_CIRCUIT_BREAKER_REJECTED"
"""``extensions.code`` of a fetch refused by an open circuit (Hive Router's name for it)."""

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "SUBGRAPH_CIRCUIT_OPEN",
    "BreakerConfig",
    "CircuitBreaker",
    "CircuitSnapshot",
    "Resilience",
    "ResilienceConfig",
    "RetryConfig",
    "resilience_from_settings",
]
