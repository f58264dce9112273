"""Retry decisions: which answers are worth a retry, how long to wait, and the retry budget.

Only idempotent fetches are retried (the transport asks :func:`is_idempotent`: queries,
never mutations or subscriptions), and only on answers a retry can change: a
connection that failed or dropped, 502, 503, 504 and 429. A timeout is not retried
(the subgraph may still be working on it, and the fetch has spent its time).

The budget bounds what retries add to a subgraph's traffic, so a sick subgraph is not
hit by a retry storm: over a rolling window, retries may add ``budget_ratio`` of the
first attempts, and at least ``budget_min_per_second`` per second (so a quiet gateway
can still retry at all).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from gateway.resilience.config import RetryConfig
from gateway.resilience.window import RollingCounts

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


def is_idempotent(payload: Mapping[str, Any]) -> bool:
    """Whether a subgraph request is a query (retries and deduplication are safe).

    The planner prints ``query...{`` or ``{`` for queries; anything else (a mutation, a
    subscription, a document starting with a comment or a fragment) is treated as unsafe.
    """
    text = payload.get("query")
    if not isinstance(text, str):
        return False
    text = text.lstrip()
    if text.startswith("{"):
        return True
    follower = text[5:6]
    return text.startswith("query") and not (follower.isalnum() or follower == "_")


def backoff_delay(config: RetryConfig, retry: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``retry`` (0-based): full jitter over a doubling cap."""
    ceiling = min(config.max_backoff, config.backoff * (2 ** retry))
    return ceiling * rng()


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now())


class RetryBudget:
    """How many retries one subgraph may still get (see the module docstring)."""

    __slots__ = ("_config", "_counts")

    def __init__(self, config: RetryConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._counts = RollingCounts(config.budget_window, 10, clock)  # first attempts, retries

    def request(self) -> None:
        """Count one first attempt (deposits into the budget)."""
        self._counts.add(1, 0)

    def try_retry(self) -> bool:
        """Spend one retry if the budget has room; False when it is exhausted."""
        config = self._config
        requests, retries = self._counts.totals()
        allowed = max(config.budget_ratio * requests, config.budget_min_per_second * config.budget_window)
        if retries + 1 > allowed:
            return False
        self._counts.add(0, 1)
        return True

    def spent(self) -> tuple[int, int]:
        """(first attempts, retries) over the window."""
        return self._counts.totals()
