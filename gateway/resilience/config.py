"""What the resilience layer may do, as immutable configuration built from the gateway settings.

Flat setting names (``circuit_breaker_window``, ``retry_attempts``, ...) are the ones of
:class:`gateway.settings.Settings`; the YAML file groups them in the sections
``circuit_breaker``, ``retry`` and ``health`` (``dedup_queries`` stands alone).
Coercion and range checks live here, next to the meaning of each knob, so the
settings module only routes names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.settings_kinds import parse_bool, parse_count, parse_number


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """A circuit breaker per subgraph: error rate over a rolling window, then a cool-down and probes."""

    enabled: bool = True
    window: float = 10.0  # seconds of outcomes the error rate is computed over
    buckets: int = 10  # the window moves in window / buckets steps
    error_rate: float = 0.5  # open at this share of failed requests or more ...
    min_requests: int = 20  # ... once the window holds at least this many requests
    cooldown: float = 5.0  # seconds an open circuit rejects before letting probes through
    half_open_probes: int = 3  # concurrent probes in half-open; this many successes close the circuit


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Retries of idempotent (query) fetches, with jittered backoff and a retry budget."""

    attempts: int = 2  # retries after the first attempt (0: never retry)
    backoff: float = 0.05  # seconds: the first retry waits up to this, doubling per retry (full jitter)
    max_backoff: float = 1.0  # seconds: a cap on one backoff
    max_retry_after: float = 2.0  # seconds: a longer Retry-After is not waited for (no retry)
    budget_ratio: float = 0.2  # retries may add this share to a subgraph's requests over the window ...
    budget_min_per_second: float = 5.0  # ... and at least this many retries per second are allowed
    budget_window: float = 10.0  # seconds


@dataclass(frozen=True, slots=True)
class ResilienceConfig:
    """Everything :class:`gateway.resilience.Resilience` needs."""

    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    dedup_queries: bool = True


class _ResilienceSettings(Protocol):
    @property
    def circuit_breaker_enabled(self) -> bool: ...
    @property
    def circuit_breaker_window(self) -> float: ...
    @property
    def circuit_breaker_error_rate(self) -> float: ...
    @property
    def circuit_breaker_min_requests(self) -> int: ...
    @property
    def circuit_breaker_cooldown(self) -> float: ...
    @property
    def circuit_breaker_half_open_probes(self) -> int: ...
    @property
    def retry_attempts(self) -> int: ...
    @property
    def retry_backoff(self) -> float: ...
    @property
    def retry_max_backoff(self) -> float: ...
    @property
    def retry_max_retry_after(self) -> float: ...
    @property
    def retry_budget_ratio(self) -> float: ...
    @property
    def retry_budget_min_per_second(self) -> float: ...
    @property
    def dedup_queries(self) -> bool: ...


def resilience_from_settings(settings: _ResilienceSettings) -> ResilienceConfig:
    """The resilience configuration of a gateway's settings."""
    return ResilienceConfig(
        breaker=BreakerConfig(
            enabled=settings.circuit_breaker_enabled,
            window=settings.circuit_breaker_window,
            error_rate=settings.circuit_breaker_error_rate,
            min_requests=settings.circuit_breaker_min_requests,
            cooldown=settings.circuit_breaker_cooldown,
            half_open_probes=settings.circuit_breaker_half_open_probes,
        ),
        retry=RetryConfig(
            attempts=settings.retry_attempts,
            backoff=settings.retry_backoff,
            max_backoff=settings.retry_max_backoff,
            max_retry_after=settings.retry_max_retry_after,
            budget_ratio=settings.retry_budget_ratio,
            budget_min_per_second=settings.retry_budget_min_per_second,
        ),
        dedup_queries=settings.dedup_queries,
    )


# Flat setting name -> kind; the YAML key is the name with its section prefix turned into "section."
_BOOL = "bool"
_INT = "int"
_SECONDS = "seconds"
_RATIO = "ratio"
RESILIENCE_SETTINGS: dict[str, str] = {
    "circuit_breaker_enabled": _BOOL,
    "circuit_breaker_window": _SECONDS,
    "circuit_breaker_error_rate": _RATIO,
    "circuit_breaker_min_requests": _INT,
    "circuit_breaker_cooldown": _SECONDS,
    "circuit_breaker_half_open_probes": _INT,
    "retry_attempts": _INT,
    "retry_backoff": _SECONDS,
    "retry_max_backoff": _SECONDS,
    "retry_max_retry_after": _SECONDS,
    "retry_budget_ratio": _RATIO,
    "retry_budget_min_per_second": _SECONDS,
    "dedup_queries": _BOOL,
    "health_check_subgraphs": _BOOL,
    "health_probe_interval": _SECONDS,
}
RESILIENCE_SECTIONS = (("circuit_breaker", "circuit_breaker_"), ("retry", "retry_"), ("health", "health_"))
RESILIENCE_KEYS: dict[str, str] = {
    name: next((f"{section}.{name.removeprefix(prefix)}" for section, prefix in RESILIENCE_SECTIONS
                if name.startswith(prefix)), name)
    for name in RESILIENCE_SETTINGS
}
RESILIENCE_ENV: dict[str, str] = {f"GATEWAY_{name.upper()}": name for name in RESILIENCE_SETTINGS}

def coerce_resilience(name: str, value: Any) -> Any:
    """``value`` as the type of the resilience setting ``name``; ValueError when it cannot be."""
    kind = RESILIENCE_SETTINGS[name]
    if kind == _BOOL:
        return parse_bool(value)
    if kind == _INT:
        return parse_count(value)
    return parse_number(value)


def check_resilience(settings: Any) -> str | None:
    """The first problem with the resilience settings, as a message naming the key; None when fine."""
    for name, kind in RESILIENCE_SETTINGS.items():
        value = getattr(settings, name)
        if kind == _RATIO and not 0 <= value <= 1:
            return f"{RESILIENCE_KEYS[name]}: must be between 0 and 1"
        if kind in (_INT, _SECONDS) and value < 0:
            return f"{RESILIENCE_KEYS[name]}: must not be negative"
    for name in ("circuit_breaker_window", "circuit_breaker_min_requests", "circuit_breaker_half_open_probes"):
        if getattr(settings, name) <= 0:
            return f"{RESILIENCE_KEYS[name]}: must be positive"
    if settings.circuit_breaker_error_rate <= 0:
        return f"{RESILIENCE_KEYS['circuit_breaker_error_rate']}: must be above 0"
    return None
