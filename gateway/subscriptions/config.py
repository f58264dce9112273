"""Subscription core settings (YAML section ``subscriptions``, ``GATEWAY_SUBSCRIPTIONS_<KEY>``).

The edge's keys of the same section (init_timeout, max_per_connection, heartbeats ...) are read
by gateway/http; these are the service's. Read with defaults so any settings object serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SLOW_CONSUMER_POLICIES = ("drop_oldest", "disconnect")


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    """Limits and lifecycle of gateway subscriptions; 0 turns a limit off."""

    max_per_tenant: int = 1000  # active subscriptions of one tenant on this process
    max_lifetime: float = 86_400.0  # seconds before SUBSCRIPTION_LIFETIME_EXCEEDED
    queue_size: int = 128  # events waiting for one slow subscriber
    slow_consumer: str = "drop_oldest"  # or "disconnect" (final SUBSCRIPTION_CONSUMER_TOO_SLOW)
    reconnect_timeout: float = 30.0  # seconds to re-establish a dropped upstream before giving up
    reconnect_backoff: float = 0.1  # first wait before reconnecting, doubling (full jitter) ...
    reconnect_max_backoff: float = 5.0  # ... up to this
    replay_size: int = 64  # events kept per upstream for Last-Event-ID resume
    resume_window: float = 5.0  # seconds an upstream outlives its last subscriber (for resume)
    upstream_ping_interval: float = 20.0  # WebSocket pings towards subgraphs (0: none)
    upstream_open_timeout: float = 10.0  # seconds to connect and get connection_ack
    upstream_max_operations: int = 100  # subscriptions multiplexed over one subgraph WebSocket
    upstream_queue_size: int = 256  # subgraph messages waiting for one upstream subscription

    def __post_init__(self) -> None:
        if self.slow_consumer not in SLOW_CONSUMER_POLICIES:
            raise ValueError(f"subscriptions.slow_consumer: must be one of {', '.join(SLOW_CONSUMER_POLICIES)}")
        if self.queue_size < 1:
            raise ValueError("subscriptions.queue_size: must be positive")

    @classmethod
    def from_settings(cls, settings: Any) -> SubscriptionConfig:
        """The ``subscriptions_<key>`` attributes of ``settings`` (missing ones keep their defaults)."""
        values = {}
        for name in cls.__dataclass_fields__:
            value = getattr(settings, f"subscriptions_{name}", None)
            if value is not None:
                values[name] = value
        values["queue_size"] = max(int(values.get("queue_size", 128)), 1)  # never unbounded
        values["upstream_queue_size"] = max(int(values.get("upstream_queue_size", 256)), 1)
        return cls(**values)
