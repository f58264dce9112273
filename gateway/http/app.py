"""The gateway's Starlette application, assembled: the routes of ``/graphql`` (HTTP, GraphiQL,
WebSocket), ``/metrics`` and the health endpoints, the handler of failures outside them, and the
lifespan that closes what the endpoints hold.

The GraphQL endpoint is in :mod:`gateway.http.graphql_endpoint` (requests decoded in
:mod:`gateway.http.decoding`, bodies in :mod:`gateway.http.bodies`), the health endpoints in
:mod:`gateway.http.health`; the names other code imports from here are re-exported."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from gateway.auth.stage import AuthStage
from gateway.contracts import SubgraphTransport
from gateway.http.bodies import error_body, graphql_json
from gateway.http.correlation import REQUEST_ID_HEADER, request_id_from
from gateway.http.decoding import RequestProblem
from gateway.http.graphiql import GraphiQL
from gateway.http.graphql_endpoint import DEBUG_PLAN_HEADER, FORWARDED_FOR_HEADER, GraphQLEndpoint
from gateway.http.health import HealthEndpoint
from gateway.http.multipart import MultipartFraming
from gateway.http.negotiation import APPLICATION_JSON
from gateway.http.sse import SseFraming
from gateway.http.state import GatewayState
from gateway.http.streams import (
    MULTIPART_PROTOCOL,
    SSE_PROTOCOL,
    HttpStreams,
    StreamDeps,
    StreamLimits,
    SubscriptionService,
)
from gateway.http.ws import GraphQLWebSocket
from gateway.http.ws_protocol import GatewayApp
from gateway.resilience.health import SubgraphHealth
from gateway.settings import Settings
from gateway.telemetry import Telemetry

logger = logging.getLogger("gateway.http")

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _unhandled(request: Request, exc: Exception) -> Response:
    # Reached only for failures outside the endpoints (middleware, routing).
    request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    logger.error("request %s: unhandled %s on %s %s", request_id, type(exc).__name__, request.method, request.url.path)
    return graphql_json(error_body("Internal server error", "INTERNAL_SERVER_ERROR"), 500, APPLICATION_JSON, {},
                        request_id)


def create_app(
    settings: Settings,
    state: GatewayState,
    transport: SubgraphTransport,
    *,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    auth: AuthStage | None = None,
    subgraph_health: SubgraphHealth | None = None,
    telemetry: Telemetry | None = None,
    subscriptions: SubscriptionService | None = None,
) -> Starlette:
    """The gateway's ASGI application.

    ``state`` says which runtime answers (the server swaps it on hot reload);
    ``transport`` reaches the subgraphs; ``lifespan`` lets the server start and stop
    its background work (supergraph polling, closing the connection pool and ``auth``);
    ``auth`` authenticates and rate-limits requests (default: one built from ``settings``);
    ``subgraph_health`` judges subgraphs for ``/health/ready`` (default: circuit states, reported only);
    ``telemetry`` holds the app's metrics registry (``/metrics``) and tracing (default: from ``settings``
    and the ``OTEL_*`` variables); ``subscriptions`` serves subscriptions (default: a
    :class:`gateway.subscriptions.Subscriptions` on ``state`` and ``transport``, closed at shutdown).
    """
    auth = auth or AuthStage(settings)
    # Bound methods, not callable instances: Starlette treats an instance as a raw ASGI app.
    health_endpoint = HealthEndpoint(state, subgraph_health or SubgraphHealth(transport))
    health = health_endpoint.handle
    telemetry = telemetry or Telemetry.from_settings(settings)
    telemetry.watch(lambda: state.current.runtime if state.current is not None else None, transport)
    endpoint = GraphQLEndpoint(settings, state, telemetry.instrument(transport), auth, telemetry)
    if subscriptions is None:
        from gateway.subscriptions import Subscriptions  # it imports the runtime, which this module need not

        subscriptions = Subscriptions(settings, state, telemetry.instrument(transport), metrics=telemetry.metrics)
    deps = StreamDeps(StreamLimits.from_settings(settings), subscriptions, endpoint._persisted,
                      endpoint._forwarded_headers, endpoint.run_one, telemetry.metrics.subscription_connections)
    endpoint.streams = HttpStreams(deps, {SSE_PROTOCOL: SseFraming(), MULTIPART_PROTOCOL: MultipartFraming()})
    graphiql = GraphiQL.from_settings(settings)  # browsers' GET /graphql (Accept: text/html), when on
    websocket = GraphQLWebSocket(deps, state, auth)
    routes = [
        Route("/graphql", graphiql.page_or(endpoint.handle), methods=_ALL_METHODS),
        *graphiql.routes,
        WebSocketRoute("/graphql", websocket.handle),
        Route("/metrics", telemetry.metrics_endpoint, methods=["GET"]),
        Route("/health", health, methods=["GET", "HEAD"]),
        Route("/health/live", health_endpoint.live, methods=["GET", "HEAD"]),
        Route("/health/ready", health, methods=["GET", "HEAD"]),
    ]
    app = GatewayApp(
        routes=routes,
        exception_handlers={Exception: _unhandled},
        lifespan=_closing(_closing(lifespan, subscriptions.aclose), endpoint.aclose),
    )
    app.websocket_handler = websocket.asgi  # the subscription socket skips Starlette's stack (~5 KB each)
    return app


def _closing(
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None, close: Callable[[], Any]
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """``lifespan``, then ``close()`` when the application stops."""

    @asynccontextmanager
    async def run(app: Starlette) -> Any:
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            await close()

    return run


__all__ = [
    "DEBUG_PLAN_HEADER",
    "FORWARDED_FOR_HEADER",
    "REQUEST_ID_HEADER",
    "GraphQLEndpoint",
    "HealthEndpoint",
    "RequestProblem",
    "create_app",
]
