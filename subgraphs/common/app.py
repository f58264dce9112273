"""The ASGI application of one subgraph: ``/graphql`` (HTTP and WebSocket), ``/metrics`` and ``/health``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from gateway.telemetry.tracing import Tracing
from subgraphs.common.service import ServiceDefinition, ServiceRuntime
from subgraphs.common.settings import Settings
from subgraphs.common.subscriptions import SubscriptionGraphQL
from subgraphs.common.tracing import trace_statements, traced


def create_app(
    definition: ServiceDefinition, settings: Settings | None = None, *, tracing: Tracing | None = None
) -> Starlette:
    """The subgraph's Starlette app. The database must already be migrated.

    ``tracing`` defaults to what the ``OTEL_*`` variables configure (off when unset).
    """
    settings = settings or Settings.from_env(definition.name)
    runtime = ServiceRuntime.create(definition, settings)
    graphql = SubscriptionGraphQL(runtime)
    tracing = tracing or Tracing.from_environment(definition.name)
    if tracing is not None:
        trace_statements(runtime.database.engine, runtime.database.dialect)

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": definition.name})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        for close in reversed(runtime.closers):
            await close()
        await runtime.database.dispose()
        if tracing is not None:
            tracing.shutdown()

    app = Starlette(
        routes=[
            Route("/graphql", traced(graphql, tracing, definition.name), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),  # subscriptions: graphql-transport-ws (subgraphs.common.subscriptions)
            Route("/metrics", runtime.metrics.endpoint),
            Route("/health", health),
            *(definition.routes(runtime) if definition.routes is not None else ()),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
