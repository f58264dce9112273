"""Prometheus metrics of one subgraph, in a registry of its own (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from subgraphs.common.db import StatementCounter


class Metrics:
    """The counters and histograms a subgraph exports on ``/metrics``."""

    def __init__(self, service: str, statements: StatementCounter) -> None:
        self.registry = CollectorRegistry()
        self.sql_statements = Counter(
            "dpp_sql_statements", "SQL statements executed", ["service"], registry=self.registry
        )
        self.requests = Counter(
            "dpp_graphql_requests", "GraphQL requests answered", ["service", "outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "dpp_request_latency_seconds",
            "Latency of HTTP requests to /graphql",
            ["service"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self._service = service
        child = self.sql_statements.labels(service)
        statements.observe(child.inc)

    def observe_request(self, seconds: float, outcome: str) -> None:
        """Record one answered GraphQL request."""
        self.latency.labels(self._service).observe(seconds)
        self.requests.labels(self._service, outcome).inc()

    async def endpoint(self, _request: Request) -> Response:
        """The ``/metrics`` route."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
