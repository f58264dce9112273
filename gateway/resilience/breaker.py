"""A circuit breaker for one subgraph: closed, open, half-open.

Closed: every request goes; outcomes are counted over a rolling window, and once the
window holds ``min_requests`` or more with a failure share of ``error_rate`` or more,
the circuit opens. Open: requests are refused at once (no network) for ``cooldown``
seconds. Half-open: up to ``half_open_probes`` requests at a time go through as
probes; one failed probe opens the circuit again, ``half_open_probes`` successful ones
close it with a fresh window. Failures are transport failures, timeouts and 5xx
answers (the transport decides); a 4xx is the subgraph working as designed.

A caller asks :meth:`allow` for a permit before a request and hands the permit back
with the outcome to :meth:`record`, so an outcome from before a transition (a request
that left while the circuit was closed and fails after it opened) is not mistaken
for a probe's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from gateway.resilience.config import BreakerConfig
from gateway.resilience.window import RollingCounts

logger = logging.getLogger("gateway.resilience")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

REJECTED = 0
"""The permit of a refused request (falsy)."""
NORMAL = 1
PROBE = 2


@dataclass(frozen=True, slots=True)
class CircuitSnapshot:
    """One subgraph's circuit as metrics and health show it."""

    state: str
    requests: int  # in the current window (closed) ...
    failures: int
    opened: int  # times the circuit opened since the process started
    retry_in: float  # seconds until an open circuit lets probes through (0 otherwise)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (health endpoint)."""
        return {
            "state": self.state,
            "requests": self.requests,
            "failures": self.failures,
            "opened": self.opened,
            "retryIn": round(self.retry_in, 3),
        }


class CircuitBreaker:
    """The breaker of one subgraph (see the module docstring)."""

    __slots__ = ("_clock", "_config", "_counts", "_opened", "_opened_at", "_probes", "_successes", "name", "state")

    def __init__(self, name: str, config: BreakerConfig, clock: Callable[[], float]) -> None:
        self.name = name
        self.state = CLOSED
        self._config = config
        self._clock = clock
        self._counts = RollingCounts(config.window, config.buckets, clock)
        self._opened_at = 0.0
        self._opened = 0
        self._probes = 0  # probes in flight
        self._successes = 0  # successful probes since half-open

    def allow(self) -> int:
        """A permit for one request: :data:`REJECTED` (0) when the circuit refuses it."""
        state = self.state
        if state == CLOSED:
            return NORMAL
        if state == OPEN:
            if self._clock() - self._opened_at < self._config.cooldown:
                return REJECTED
            self._transition(HALF_OPEN, "cool-down over, letting probes through")
            self._probes = self._successes = 0
        if self._probes >= self._config.half_open_probes:
            return REJECTED
        self._probes += 1
        return PROBE

    def record(self, permit: int, ok: bool) -> None:
        """The outcome of a request that went with ``permit``."""
        if permit == NORMAL:
            if self.state != CLOSED:
                return  # left before the circuit opened: the probes decide now
            if ok:
                self._counts.add(1, 0)
                return
            self._counts.add(1, 1)
            requests, failures = self._counts.totals()
            config = self._config
            if requests >= config.min_requests and failures >= config.error_rate * requests:
                self._open(f"{failures} of {requests} requests failed in {config.window:g}s")
        elif permit == PROBE:
            if self.state != HALF_OPEN:
                return
            self._probes -= 1
            if not ok:
                self._open("a probe failed")
                return
            self._successes += 1
            if self._successes >= self._config.half_open_probes:
                self._counts.clear()
                self._transition(CLOSED, f"{self._successes} probes succeeded")

    def release(self, permit: int) -> None:
        """Give back a permit whose request never completed (cancelled): no outcome to count."""
        if permit == PROBE and self.state == HALF_OPEN:
            self._probes = max(0, self._probes - 1)

    def snapshot(self) -> CircuitSnapshot:
        """The circuit's state now."""
        requests, failures = self._counts.totals()
        retry_in = 0.0
        if self.state == OPEN:
            retry_in = max(0.0, self._config.cooldown - (self._clock() - self._opened_at))
        return CircuitSnapshot(self.state, requests, failures, self._opened, retry_in)

    def _open(self, reason: str) -> None:
        self._opened_at = self._clock()
        self._opened += 1
        self._transition(OPEN, f"{reason}; refusing requests for {self._config.cooldown:g}s")

    def _transition(self, state: str, reason: str) -> None:
        previous, self.state = self.state, state
        level = logging.WARNING if state == OPEN else logging.INFO
        logger.log(level, "circuit of subgraph %s: %s -> %s (%s)", self.name, previous, state, reason)
