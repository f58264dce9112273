"""Tracing in a subgraph: join the gateway's trace, a span per request, per operation and per SQL statement.

:func:`traced` also puts the request's ``x-request-id`` (the gateway's correlation id) on every
log line written while the request is handled (:class:`gateway.telemetry.logging.CorrelationFilter`).

Configured like the gateway (:mod:`gateway.telemetry.tracing`: the standard ``OTEL_*``
variables, off when unset, ``OTEL_SERVICE_NAME`` or the subgraph's name). :func:`traced`
wraps the ``/graphql`` ASGI app: it extracts the W3C ``traceparent`` the gateway injected,
opens the request's server span as a child of the gateway's fetch span, and makes the
app's tracer active for the request; :class:`TraceOperation` (a schema extension) and the
SQLAlchemy statement listeners of :func:`trace_statements` open child spans only while a
tracer is active, so with tracing off they cost one ContextVar read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from gateway.telemetry.logging import CORRELATION_ID
from gateway.telemetry.tracing import ACTIVE_TRACER, Tracing

__all__ = ["TraceOperation", "trace_statements", "traced"]

_SPAN_KEY = "dpp_sql_span"


def traced(app: ASGIApp, tracing: Tracing | None, service: str) -> ASGIApp:
    """``app`` with the request's correlation id on its log lines and, with tracing, a server span."""
    return _Traced(app, tracing, service)


class _Traced:
    """The ASGI wrapper of :func:`traced` (an instance, so Starlette routes to it as an ASGI app)."""

    def __init__(self, app: ASGIApp, tracing: Tracing | None, service: str) -> None:
        self._app = app
        self._tracing = tracing
        self._service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        tracing = self._tracing
        if tracing is None:
            correlation = CORRELATION_ID.set(_request_id(scope))
            try:
                await self._app(scope, receive, send)
            finally:
                CORRELATION_ID.reset(correlation)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        span = tracing.tracer.start_span(
            f"{scope.get('method', 'POST')} {self._service}",
            context=tracing.extract(headers),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": scope.get("method", ""),
                "url.path": scope.get("path", ""),
                "http.request.header.x-request-id": headers.get("x-request-id", ""),
            },
        )

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                span.set_attribute("http.response.status_code", message["status"])
                if message["status"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        token = ACTIVE_TRACER.set(tracing.tracer)
        correlation = CORRELATION_ID.set(headers.get("x-request-id"))
        try:
            with trace.use_span(span, end_on_exit=True):
                await self._app(scope, receive, send_status)
        finally:
            ACTIVE_TRACER.reset(token)
            CORRELATION_ID.reset(correlation)


def _request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return str(value.decode("latin-1"))
    return None


class TraceOperation(SchemaExtension):
    """A span per GraphQL operation (type and name as attributes) while a tracer is active."""

    def on_operation(self) -> Iterator[None]:
        tracer = ACTIVE_TRACER.get()
        if tracer is None:
            yield
            return
        with tracer.start_as_current_span("graphql.operation") as span:
            yield
            context = self.execution_context
            name = context.operation_name
            kind = getattr(context, "operation_type", None)
            if kind is not None:
                span.set_attribute("graphql.operation.type", str(getattr(kind, "value", kind)))
            if name:
                span.set_attribute("graphql.operation.name", name)
            errors = getattr(context.result, "errors", None) or context.pre_execution_errors
            if errors:
                span.set_status(Status(StatusCode.ERROR))


def trace_statements(engine: AsyncEngine, system: str) -> None:
    """A client span per SQL statement of ``engine`` (``db.system``: ``system``) while a tracer is active."""

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        tracer = ACTIVE_TRACER.get()
        if tracer is None or context is None:
            return
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer.start_span(
            verb, kind=SpanKind.CLIENT, attributes={"db.system": system, "db.statement": statement}
        )
        setattr(context, _SPAN_KEY, span)

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        span = getattr(context, _SPAN_KEY, None)
        if span is not None:
            span.end()
            setattr(context, _SPAN_KEY, None)

    def failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        span = getattr(context, _SPAN_KEY, None) if context is not None else None
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            span.end()
            setattr(context, _SPAN_KEY, None)

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", before)
    event.listen(sync, "after_cursor_execute", after)
    event.listen(sync, "handle_error", failed)
