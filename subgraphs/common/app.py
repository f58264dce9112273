"""The ASGI application of one subgraph: ``/graphql`` (HTTP and WebSocket), ``/metrics`` and ``/health``."""

from __future__ import annotations

import gc
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


def settle_heap() -> None:
    """Take everything alive once the subgraph has started out of the cyclic GC's scans.

    What a served subgraph process holds after startup (modules, SQLAlchemy's mappers, the
    Strawberry and graphql-core schemas: about 115,000 tracked objects in the passport subgraph)
    never becomes garbage, yet each full collection walked all of it. ``make bench-dpp --probe``
    (the QR path through the gateway on PostgreSQL, 10,000 passports, a loaded machine) measured
    the passport subgraph's full collections over 156,000-168,000 old objects at 190-530 ms of
    pause, the longest stall of the QR path's tail; frozen, they walk what the process kept since
    (23,000-35,000 objects, mostly the public-view cache). Frozen objects are still freed by
    reference counting; they are only no longer scanned for cycles.

    The thresholds stay Python's (700, 10, 10), unlike the gateway's (``gateway.serve.settle_heap``).
    Measured the same way: a young generation of 50,000 objects cost the passport subgraph 70-86 ms
    of CPU per collection, against 0.5-1 ms at 700 (for the tail, many short pauses beat a few long
    ones); and full collections every 100 middle ones instead of 10 let request garbage in reference
    cycles pile up in the old generation (35,000 -> 135,000 objects in 20 s), which the next full
    collection would then walk.
    """
    gc.collect()
    gc.freeze()


def create_app(
    definition: ServiceDefinition,
    settings: Settings | None = None,
    *,
    tracing: Tracing | None = None,
    settle: bool = False,
) -> Starlette:
    """The subgraph's Starlette app. The database must already be migrated.

    ``tracing`` defaults to what the ``OTEL_*`` variables configure (off when unset). ``settle``:
    :func:`settle_heap` once the app has started (a process serving this app alone, as
    ``dpp-subgraph`` runs it; not where apps share a process with other work, like tests).
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
        await runtime.database.warm()
        if settle:
            settle_heap()
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
