"""What one gateway application observes per request: metrics, a trace and a log line.

:class:`Telemetry` belongs to one application (``create_app`` builds it from the settings).
The GraphQL endpoint opens an :class:`Observation` per request, tells it what it learned
(the request, the caller, the outcome or the refusal) and the observation, when it closes,
counts the request, ends its span and writes the request's log line. Subgraph fetches go
through :class:`InstrumentedTransport`, which times them, counts their failures and, with
tracing on, opens a client span and injects its W3C ``traceparent`` into the forwarded headers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from gateway.contracts import ExecutionOutcome, GraphQLRequest, SubgraphResponse, SubgraphTransport
from gateway.telemetry.logging import CORRELATION_ID
from gateway.telemetry.metrics import GatewayMetrics, StateCollector
from gateway.telemetry.tracing import ACTIVE_TRACER, Tracing

__all__ = ["InstrumentedTransport", "Observation", "Telemetry"]

request_log = logging.getLogger("gateway.request")

CLIENT_NAME_HEADER = "apollographql-client-name"
CLIENT_VERSION_HEADER = "apollographql-client-version"
AUTHORIZATION_DENIED = "UNAUTHORIZED_FIELD_OR_TYPE"
RATE_LIMITED = "RATE_LIMITED"
CIRCUIT_OPEN = "SUBGRAPH_CIRCUIT_BREAKER_REJECTED"


class Telemetry:
    """Metrics registry, tracing (None when off) and request logging of one gateway application."""

    def __init__(self, metrics: GatewayMetrics, tracing: Tracing | None = None) -> None:
        self.metrics = metrics
        self.tracing = tracing

    @classmethod
    def from_settings(cls, settings: Any, tracing: Tracing | None = None) -> Telemetry:
        """Metrics bounded as ``settings`` say; ``tracing`` defaults to what the ``OTEL_*`` variables ask."""
        metrics = GatewayMetrics(
            max_operation_names=settings.metrics_max_operation_names,
            known_operation_names=settings.metrics_operation_names,
            max_clients=settings.metrics_max_clients,
        )
        if tracing is None:
            tracing = Tracing.from_environment("gateway", include_document=settings.tracing_include_document)
        return cls(metrics, tracing)

    def watch(self, runtime: Callable[[], Any], transport: Any) -> None:
        """Export the plan cache of ``runtime()`` and the resilience state of ``transport`` at scrape time."""
        self.metrics.registry.register(StateCollector(runtime, transport))

    def observe(self, request: Request, request_id: str) -> Observation:
        """The observation of one request (use it as a context manager around the handler)."""
        return Observation(self, request, request_id)

    def instrument(self, transport: SubgraphTransport) -> InstrumentedTransport:
        """``transport`` timed, counted and traced."""
        return InstrumentedTransport(transport, self.metrics, self.tracing)

    async def metrics_endpoint(self, request: Request) -> Response:
        """``GET /metrics`` in the Prometheus text format."""
        return Response(generate_latest(self.metrics.registry), headers={"content-type": CONTENT_TYPE_LATEST})

    def shutdown(self) -> None:
        """Flush and stop the span exporter."""
        if self.tracing is not None:
            self.tracing.shutdown()


class Observation:
    """One request as metrics, trace and log see it (see the module docstring)."""

    __slots__ = (
        "_auth_refused",
        "_codes",
        "_correlation",
        "_graphql",
        "_name",
        "_request",
        "_scope",
        "_span",
        "_started",
        "_telemetry",
        "outcome",
        "request_id",
        "status",
        "tenant",
    )

    def __init__(self, telemetry: Telemetry, request: Request, request_id: str) -> None:
        self._telemetry = telemetry
        self._request = request
        self.request_id = request_id
        self._graphql: GraphQLRequest | None = None
        self._name: str | None = None
        self.outcome: ExecutionOutcome | None = None
        self._codes: list[str] = []
        self._auth_refused = False
        self.status = 500
        self.tenant: str | None = None
        self._span: Any = None
        self._scope: Any = None
        self._started = 0.0
        self._correlation: Any = None

    def __enter__(self) -> Observation:
        self._started = time.perf_counter()
        self._correlation = CORRELATION_ID.set(self.request_id)
        self._telemetry.metrics.in_flight.inc()
        tracing = self._telemetry.tracing
        if tracing is not None:
            self._span = tracing.tracer.start_span(
                "graphql.request",
                context=tracing.extract(self._request.headers),
                kind=SpanKind.SERVER,
                attributes={
                    "http.request.method": self._request.method,
                    "url.path": self._request.url.path,
                    "http.request.header.x-request-id": self.request_id,
                },
            )
            self._scope = (trace.use_span(self._span), ACTIVE_TRACER.set(tracing.tracer))
            self._scope[0].__enter__()
        return self

    def parsed(self, graphql_request: GraphQLRequest, operation_name: str | None) -> None:
        """The GraphQL request the edge decoded and its operation's name (asked for, or the document's first)."""
        self._graphql = graphql_request
        self._name = operation_name[:128] if operation_name else None

    def executed(self, outcome: ExecutionOutcome, codes: list[str]) -> None:
        """The runtime's outcome and the codes of its errors."""
        self.outcome = outcome
        self._codes = codes

    def refused(self, code: str, status: int, *, by_auth: bool) -> None:
        """The edge refused the request (``by_auth``: the authentication stage or its rate limit)."""
        self._codes = [code]
        self.status = status
        self._auth_refused = by_auth

    def __exit__(self, *exc_info: object) -> None:
        elapsed = time.perf_counter() - self._started
        telemetry = self._telemetry
        metrics = telemetry.metrics
        metrics.in_flight.dec()
        outcome = self.outcome
        operation_type = (outcome.operation_type if outcome is not None else None) or "unknown"
        name = self._name
        ran = outcome is not None and not outcome.request_error
        headers = self._request.headers
        client = headers.get(CLIENT_NAME_HEADER)
        client_label, version_label = metrics.client_labels(client, headers.get(CLIENT_VERSION_HEADER))
        labels = (operation_type, metrics.operation_label(name, ran=ran), client_label, version_label)
        metrics.requests.labels(*labels, str(self.status)).inc()
        metrics.request_duration.labels(*labels).observe(elapsed)
        for code in self._codes:
            metrics.errors.labels(code).inc()
            if code == AUTHORIZATION_DENIED:
                metrics.authorization_denials.inc()
            elif code.startswith("MAX_") and code.endswith("_LIMIT"):
                metrics.limits_refused.labels(code).inc()
        if self._auth_refused:
            if self._codes == [RATE_LIMITED]:
                metrics.rate_limited.inc()
            else:
                metrics.auth_failures.labels(self._codes[0]).inc()
        if self._span is not None:
            self._end_span(operation_type, name)
        if request_log.isEnabledFor(logging.INFO):  # the record's fields are not built for nothing
            request_log.info(
                "%s %s %s %d %.1fms",
                operation_type,
                name or "-",
                self.request_id,
                self.status,
                elapsed * 1000,
                extra={
                    "fields": {
                        "requestId": self.request_id,
                        "operationType": operation_type,
                        "operationName": name,
                        "status": self.status,
                        "durationMs": round(elapsed * 1000, 3),
                        "tenant": self.tenant,
                        "client": client,
                        "errors": self._codes or None,
                    }
                },
            )
        CORRELATION_ID.reset(self._correlation)

    def _end_span(self, operation_type: str, name: str | None) -> None:
        span = self._span
        span.set_attribute("graphql.operation.type", operation_type)
        if name:
            span.set_attribute("graphql.operation.name", name)
        tracing = self._telemetry.tracing
        if tracing is not None and tracing.include_document and self._graphql is not None:
            span.set_attribute("graphql.document", self._graphql.query)
        span.set_attribute("http.response.status_code", self.status)
        if self._codes:
            span.set_attribute("graphql.error.codes", self._codes)
        if self.status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.update_name(f"{operation_type} {name}" if name else operation_type)
        use, token = self._scope
        ACTIVE_TRACER.reset(token)
        use.__exit__(None, None, None)
        span.end()


class InstrumentedTransport:
    """A :class:`SubgraphTransport` whose fetches are timed, counted and traced."""

    def __init__(self, inner: SubgraphTransport, metrics: GatewayMetrics, tracing: Tracing | None) -> None:
        self.inner = inner
        self._metrics = metrics
        self._tracing = tracing

    def __getattr__(self, name: str) -> Any:
        # circuit_states, resilience, aclose ... of the wrapped transport
        return getattr(self.inner, name)

    async def fetch(
        self, subgraph: str, url: str, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> SubgraphResponse:
        """The wrapped fetch, measured (and, with tracing on, in a client span that propagates)."""
        started = time.perf_counter()
        tracing = self._tracing
        if tracing is None:
            response = await self.inner.fetch(subgraph, url, payload, headers)
        else:
            with tracing.tracer.start_as_current_span(
                f"fetch {subgraph}",
                kind=SpanKind.CLIENT,
                attributes={"graphql.subgraph.name": subgraph, "url.full": url, "http.request.method": "POST"},
            ) as span:
                forwarded = dict(headers)
                tracing.inject(forwarded, span)
                response = await self.inner.fetch(subgraph, url, payload, forwarded)
                span.set_attribute("http.response.status_code", response.status)
                if response.error is not None:
                    span.set_status(Status(StatusCode.ERROR, response.error))
        self._metrics.subgraph_duration.labels(subgraph).observe(time.perf_counter() - started)
        kind = _failure_kind(response)
        if kind is not None:
            self._metrics.subgraph_errors.labels(subgraph, kind).inc()
        return response


def _failure_kind(response: SubgraphResponse) -> str | None:
    if response.error is not None:
        if response.code == CIRCUIT_OPEN:
            return "circuit_open"
        return "transport" if response.status == 0 else "http"
    body = response.body
    if body is not None and body.get("errors"):
        return "graphql"
    return None
