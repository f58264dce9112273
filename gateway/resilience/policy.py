"""Per-subgraph resilience state of one transport: breakers, retry budgets, requests in flight."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from gateway.resilience.breaker import CircuitBreaker, CircuitSnapshot
from gateway.resilience.config import ResilienceConfig
from gateway.resilience.dedup import InFlight
from gateway.resilience.retry import RetryBudget


class Resilience:
    """What a transport consults around each subgraph request (one per transport, per process).

    Breakers and budgets are created on first use per subgraph name, so a supergraph
    reload that adds a subgraph needs nothing; ``clock`` (monotonic seconds) and ``rng``
    (uniform in [0, 1)) are injectable for unit tests.
    """

    def __init__(
        self,
        config: ResilienceConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.config = config or ResilienceConfig()
        self.clock = clock
        self.rng = rng
        self._breakers: dict[str, CircuitBreaker] = {}
        self._budgets: dict[str, RetryBudget] = {}
        self.in_flight: InFlight[object] = InFlight()

    def breaker(self, subgraph: str) -> CircuitBreaker | None:
        """The subgraph's circuit breaker; None when breakers are off."""
        if not self.config.breaker.enabled:
            return None
        found = self._breakers.get(subgraph)
        if found is None:
            found = self._breakers[subgraph] = CircuitBreaker(subgraph, self.config.breaker, self.clock)
        return found

    def budget(self, subgraph: str) -> RetryBudget:
        """The subgraph's retry budget."""
        found = self._budgets.get(subgraph)
        if found is None:
            found = self._budgets[subgraph] = RetryBudget(self.config.retry, self.clock)
        return found

    def circuit_states(self) -> dict[str, CircuitSnapshot]:
        """Every subgraph's circuit as it stands now (subgraphs not contacted yet are absent)."""
        return {name: breaker.snapshot() for name, breaker in sorted(self._breakers.items())}
