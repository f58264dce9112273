"""Counters of the subscription service, read by /metrics at scrape time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SubscriptionStats:
    """Totals since start plus the current counts (``upstreams`` and ``subscribers`` open now)."""

    upstreams: int = 0  # upstream subgraph subscriptions open now
    connections: int = 0  # WebSockets to subgraphs open now (they multiplex the upstreams)
    connections_opened: int = 0
    subscribers: int = 0  # client subscriptions open now
    upstreams_opened: int = 0
    subscriptions_opened: int = 0
    subscriptions_rejected: int = 0
    upstream_events: int = 0  # events received from subgraphs
    completions: int = 0  # executions of an event (once per distinct completion group)
    events_delivered: int = 0  # messages taken by clients
    events_dropped: int = 0  # messages dropped for slow consumers
    upstream_reconnects: int = 0
    upstream_failures: int = 0  # upstreams given up (SUBGRAPH_SUBSCRIPTION_FAILED)

    @property
    def dedup_ratio(self) -> float:
        """Client subscriptions per upstream subscription open now (1.0 without sharing)."""
        return self.subscribers / self.upstreams if self.upstreams else 0.0
