"""The gateway's Prometheus metrics: one registry per application, served at ``/metrics``.

Request-path metrics are pushed by :class:`gateway.telemetry.instrument.Telemetry` as each
request ends; state owned by other parts (circuit breakers, deduplicated fetches, the plan
cache of the current runtime) is read when Prometheus scrapes, by :class:`StateCollector`,
so the request path pays nothing for it. Names carry the ``gateway_`` prefix and their unit
(``_seconds``, ``_total``); label values are bounded (see :mod:`gateway.telemetry.labels`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from gateway.telemetry.labels import BoundedLabels

__all__ = ["CIRCUIT_STATES", "GatewayMetrics", "StateCollector", "SubscriptionCollector"]

REQUEST_LABELS = ("operation_type", "operation_name", "client_name", "client_version")
CIRCUIT_STATES = ("closed", "open", "half_open")
# Latencies of a gateway hop: sub-millisecond cache hits up to the 30 s default timeout.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class GatewayMetrics:
    """Every metric of one gateway application, registered in its own :attr:`registry`."""

    def __init__(
        self,
        *,
        max_operation_names: int = 100,
        known_operation_names: tuple[str, ...] = (),
        max_clients: int = 20,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.operation_names = BoundedLabels(max_operation_names, known_operation_names)
        self.clients = BoundedLabels(max_clients)
        reg = self.registry
        self.requests = Counter(
            "gateway_requests",
            "GraphQL requests answered, by operation, client and HTTP status",
            (*REQUEST_LABELS, "status"),
            registry=reg,
        )
        self.request_duration = Histogram(
            "gateway_request_duration_seconds",
            "Time from request to response, by operation and client",
            REQUEST_LABELS,
            buckets=_BUCKETS,
            registry=reg,
        )
        self.errors = Counter(
            "gateway_errors", "GraphQL errors returned to clients, by extensions.code", ("code",), registry=reg
        )
        self.in_flight = Gauge("gateway_requests_in_flight", "GraphQL requests being handled", registry=reg)
        self.subgraph_duration = Histogram(
            "gateway_subgraph_request_duration_seconds",
            "Subgraph fetch time (retries included), by subgraph",
            ("subgraph",),
            buckets=_BUCKETS,
            registry=reg,
        )
        self.subgraph_errors = Counter(
            "gateway_subgraph_errors",
            "Failed subgraph fetches by subgraph and kind (transport, http, graphql, circuit_open)",
            ("subgraph", "kind"),
            registry=reg,
        )
        self.limits_refused = Counter(
            "gateway_limits_refused", "Operations refused by an operation limit, by code", ("code",), registry=reg
        )
        self.authorization_denials = Counter(
            "gateway_authorization_denials",
            "Paths removed or refused by @authenticated/@requiresScopes/@policy",
            registry=reg,
        )
        self.auth_failures = Counter(
            "gateway_auth_failures", "Requests refused by authentication, by code", ("kind",), registry=reg
        )
        self.rate_limited = Counter("gateway_rate_limited", "Requests refused by a rate limit", registry=reg)
        self.subscription_connections = Gauge(
            "gateway_subscription_connections",
            "Open client subscription connections, by protocol (graphql-transport-ws, graphql-sse, multipart)",
            ("protocol",),
            registry=reg,
        )

    def watch_subscriptions(self, stats: Any) -> None:
        """Export the subscription service's counters (gateway/subscriptions/stats.py) at scrape time."""
        self.registry.register(SubscriptionCollector(stats))

    def operation_label(self, name: str | None, *, ran: bool) -> str:
        """The bounded label of an operation name (an operation that did not run takes no new slot)."""
        return self.operation_names.value(name, admit=ran)

    def client_labels(self, name: str | None, version: str | None) -> tuple[str, str]:
        """Bounded client name and version (a version is kept only with a kept name)."""
        if not name:
            return "", ""
        label = self.clients.value(name)
        if label != name:
            return label, ""
        return label, self.clients.value(f"{name}@{version}").partition("@")[2] if version else ""


class StateCollector(Collector):
    """Reads state other parts of the gateway own, at scrape time.

    ``runtime`` returns the current runtime (or None); ``transport`` is the subgraph transport.
    Both are read with ``getattr`` so a test runtime or transport without them exports nothing.
    """

    def __init__(self, runtime: Callable[[], Any], transport: Any) -> None:
        self._runtime = runtime
        self._transport = transport

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._plan_cache()
        yield from self._resilience()
        yield from self._cost()

    def _plan_cache(self) -> Iterator[Metric]:
        runtime = self._runtime()
        stats = getattr(runtime, "prepare_stats", None)
        if stats is None:
            return
        yield CounterMetricFamily(
            "gateway_plan_cache_hits", "Operations answered from the plan cache", value=stats.hits
        )
        yield CounterMetricFamily(
            "gateway_plan_cache_misses", "Operations parsed, validated and planned", value=stats.misses
        )
        planning = SummaryMetricFamily(
            "gateway_query_planning_seconds",
            "Time to parse, check limits, validate and plan one operation (cache misses)",
            count_value=stats.misses,
            sum_value=stats.seconds,
        )
        yield planning

    def _cost(self) -> Iterator[Metric]:
        """Demand control (gateway/cost): estimated costs of the current supergraph's requests, refusals."""
        stats = getattr(getattr(self._runtime(), "demand", None), "stats", None)
        if stats is None:
            return
        bounds = [str(b) for b in stats.bounds] + ["+Inf"]
        yield HistogramMetricFamily(
            "gateway_operation_estimated_cost",
            "Estimated demand-control cost of the operations checked (IBM cost spec)",
            buckets=list(zip(bounds, [*stats.buckets, stats.count], strict=True)),
            sum_value=stats.total,
        )
        yield CounterMetricFamily(
            "gateway_cost_refused", "Operations refused with COST_ESTIMATED_TOO_EXPENSIVE", value=stats.refused
        )

    def _resilience(self) -> Iterator[Metric]:
        circuit_states = getattr(self._transport, "circuit_states", None)
        if circuit_states is not None:
            states = circuit_states()
            gauge = GaugeMetricFamily(
                "gateway_circuit_state", "1 for the state each subgraph's circuit is in", labels=("subgraph", "state")
            )
            opened = CounterMetricFamily(
                "gateway_circuit_opened", "Times a subgraph's circuit opened", labels=("subgraph",)
            )
            for subgraph, snapshot in sorted(states.items()):
                for state in CIRCUIT_STATES:
                    gauge.add_metric((subgraph, state), 1.0 if snapshot.state == state else 0.0)
                opened.add_metric((subgraph,), snapshot.opened)
            yield gauge
            yield opened
        resilience = getattr(self._transport, "resilience", None)
        in_flight = getattr(resilience, "in_flight", None)
        if in_flight is not None:
            yield CounterMetricFamily(
                "gateway_subgraph_shared_fetches",
                "Subgraph fetches answered by an identical fetch already in flight",
                value=in_flight.shared,
            )
        coalescer = getattr(self._runtime(), "coalescer", None)
        if coalescer is not None:
            yield CounterMetricFamily(
                "gateway_coalesced_requests",
                "Queries answered by an identical execution already in flight (gateway/coalescing.py)",
                value=coalescer.shared,
            )


class SubscriptionCollector(Collector):
    """The subscription service's :class:`~gateway.subscriptions.stats.SubscriptionStats`, read at scrape time."""

    _COUNTERS = (
        ("gateway_subscriptions_opened", "Client subscriptions opened", "subscriptions_opened"),
        ("gateway_subscriptions_rejected", "Client subscriptions refused when opened", "subscriptions_rejected"),
        ("gateway_subscription_upstreams_opened", "Upstream subgraph subscriptions opened", "upstreams_opened"),
        ("gateway_subscription_upstream_events", "Events received from subgraph subscriptions", "upstream_events"),
        ("gateway_subscription_completions", "Event executions (one per distinct completion group)", "completions"),
        ("gateway_subscription_events_delivered", "Subscription messages taken by clients", "events_delivered"),
        ("gateway_subscription_events_dropped", "Subscription events dropped for slow consumers", "events_dropped"),
        ("gateway_subscription_upstream_reconnects", "Upstream subscriptions re-established", "upstream_reconnects"),
        ("gateway_subscription_upstream_failures", "Upstream subscriptions given up", "upstream_failures"),
    )

    def __init__(self, stats: Any) -> None:
        self._stats = stats

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        yield GaugeMetricFamily("gateway_subscription_upstreams", "Upstream subgraph subscriptions open now",
                                value=stats.upstreams)
        yield GaugeMetricFamily("gateway_subscription_subscribers", "Client subscriptions open now",
                                value=stats.subscribers)
        yield GaugeMetricFamily("gateway_subscription_upstream_connections",
                                "WebSockets to subgraphs open now (each multiplexes upstream subscriptions)",
                                value=getattr(stats, "connections", 0))
        yield GaugeMetricFamily("gateway_subscription_dedup_ratio",
                                "Client subscriptions per upstream subscription open now", value=stats.dedup_ratio)
        for name, documentation, attribute in self._COUNTERS:
            yield CounterMetricFamily(name, documentation, value=getattr(stats, attribute))
