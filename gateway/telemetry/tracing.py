"""OpenTelemetry tracing: one tracer provider per application, configured by the standard variables.

Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp`` or ``console``) or,
with it unset, when ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is
set; ``OTEL_TRACES_EXPORTER=none`` or nothing set leaves it off. The OTLP/HTTP exporter reads
its own ``OTEL_EXPORTER_OTLP_*`` variables (endpoint, headers, timeout); the resource reads
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``. Spans are batched off the request path.

The provider is not installed as OpenTelemetry's global one: each application (a gateway, a
subgraph, several of them in one test process) keeps its own, and the request handler makes
its tracer the active one for the request (:data:`ACTIVE_TRACER`), so stages deeper in the
call (the runtime's parse, validate, plan, authorize and execute) open child spans through
:func:`stage_span` without being handed anything. Off, :func:`stage_span` is one ContextVar
read returning a shared no-op context manager.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["ACTIVE_TRACER", "Tracing", "exporter_from_environment", "stage_span"]

ACTIVE_TRACER: ContextVar[Tracer | None] = ContextVar("dpp_active_tracer", default=None)
"""The tracer of the request being handled (None: tracing off). Set per request, never globally."""

_NO_SPAN = contextlib.nullcontext()
_PROPAGATOR = TraceContextTextMapPropagator()


def exporter_from_environment(environ: Mapping[str, str] | None = None) -> SpanExporter | None:
    """The span exporter the ``OTEL_*`` variables ask for, or None when tracing is off."""
    env = os.environ if environ is None else environ
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if not names:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        names = ["otlp"] if endpoint else []
    if not names or names == ["none"]:
        return None
    if "otlp" in names:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout, compression from OTEL_EXPORTER_OTLP_*
    if "console" in names:
        return ConsoleSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER: unsupported exporter(s) {', '.join(names)} (otlp, console, none)")


class Tracing:
    """The tracer provider of one application and what the request path needs from it."""

    def __init__(
        self, provider: TracerProvider, *, instrumentation: str = "gateway", include_document: bool = False
    ) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer(instrumentation)
        self.include_document = include_document

    @classmethod
    def from_environment(
        cls,
        default_service: str,
        *,
        include_document: bool = False,
        environ: Mapping[str, str] | None = None,
        exporter: SpanExporter | None = None,
    ) -> Tracing | None:
        """Tracing as the ``OTEL_*`` variables configure it (None when off); ``exporter`` overrides theirs."""
        env = os.environ if environ is None else environ
        exporter = exporter or exporter_from_environment(env)
        if exporter is None:
            return None
        return cls(provider_for(default_service, exporter, env), include_document=include_document)

    def extract(self, headers: Mapping[str, str]) -> Context:
        """The caller's trace context from ``traceparent`` / ``tracestate`` (empty when absent)."""
        return _PROPAGATOR.extract(headers)

    @staticmethod
    def inject(headers: MutableMapping[str, str], span: Span) -> None:
        """Write ``span``'s W3C trace context into outgoing ``headers``."""
        _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))

    def shutdown(self) -> None:
        """Flush batched spans and stop the exporter."""
        self.provider.shutdown()


def provider_for(default_service: str, exporter: SpanExporter, environ: Mapping[str, str]) -> TracerProvider:
    """A provider batching to ``exporter``; ``OTEL_SERVICE_NAME`` wins over ``default_service``."""
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: default_service}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def stage_span(name: str, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A child span of the current request's span, or a shared no-op when tracing is off."""
    tracer = ACTIVE_TRACER.get()
    if tracer is None:
        return _NO_SPAN
    return tracer.start_as_current_span(name, attributes=attributes or None)


@contextlib.contextmanager
def active(tracer: Tracer) -> Iterator[None]:
    """Make ``tracer`` the one :func:`stage_span` uses for the duration of the block."""
    token = ACTIVE_TRACER.set(tracer)
    try:
        yield
    finally:
        ACTIVE_TRACER.reset(token)
