"""The gateway's Starlette application: GraphQL over HTTP and health endpoints."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from gateway.auth.stage import TENANT_HEADER, Authenticated, AuthStage, EdgeRejection, audit
from gateway.contracts import ExecutionOutcome, GraphQLRequest, Runtime, SubgraphTransport
from gateway.http.correlation import REQUEST_ID_HEADER, request_id_from, with_request_id
from gateway.http.graphiql import GraphiQL
from gateway.http.incremental import accepts_incremental, incremental_response
from gateway.http.multipart import MultipartFraming
from gateway.http.negotiation import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    is_json_content_type,
    negotiate_response_type,
)
from gateway.http.sse import SseFraming
from gateway.http.state import GatewayState
from gateway.http.streams import (
    MULTIPART_PROTOCOL,
    SSE_PROTOCOL,
    SUBSCRIPTIONS_ELSEWHERE,
    HttpStreams,
    StreamCall,
    StreamDeps,
    StreamLimits,
    SubscriptionService,
    negotiate_stream,
)
from gateway.http.ws import GraphQLWebSocket
from gateway.http.ws_protocol import GatewayApp
from gateway.incremental import IncrementalOutcome
from gateway.persisted import Incoming, PersistedOperations, PersistedProblem, persisted_from_settings
from gateway.resilience.health import SubgraphHealth
from gateway.settings import Settings
from gateway.telemetry import Observation, Telemetry
from gateway.transport import NEVER_FORWARDED_HEADERS

logger = logging.getLogger("gateway.http")

DEBUG_PLAN_HEADER = "x-gateway-debug-plan"
FORWARDED_FOR_HEADER = "x-forwarded-for"

# Headers the authentication stage checked (it reads the first value): forwarded exactly as checked.
_CHECKED_HEADERS = frozenset({"authorization", TENANT_HEADER})
_OPERATION_NAME = re.compile(r"\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class RequestProblem(EdgeRejection):
    """A request the edge refuses before it reaches the runtime."""


def _json(
    body: Any, status: int = 200, media_type: str = APPLICATION_JSON, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=f"{media_type}; charset=utf-8",
    )


def _error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def _graphql_json(
    body: dict[str, Any] | list[dict[str, Any]], status: int, media_type: str, headers: Mapping[str, str],
    request_id: str,
) -> Response:
    """A GraphQL response body (or a batch of them) as JSON: the one place the endpoint serialises one,
    so each error gets ``extensions.requestId`` (gateway/http/correlation.py) and the response the header."""
    if isinstance(body, list):
        body = [with_request_id(item, request_id) for item in body]
    else:
        body = with_request_id(body, request_id)
    return _json(body, status, media_type, {**headers, REQUEST_ID_HEADER: request_id})


class GraphQLEndpoint:
    """``/graphql``: turns HTTP requests into :class:`GraphQLRequest` and outcomes into responses."""

    def __init__(self, settings: Settings, state: GatewayState, transport: SubgraphTransport, auth: AuthStage,
                 telemetry: Telemetry | None = None, persisted: PersistedOperations | None = None) -> None:
        self._settings = settings
        self._persisted = persisted or PersistedOperations(persisted_from_settings(settings))
        self._telemetry = telemetry or Telemetry.from_settings(settings)
        self._state = state
        self._transport = transport
        self._auth = auth
        # x-forwarded-for is always the client address the edge saw, never the client's own header
        self._forward = frozenset(settings.forward_headers) - NEVER_FORWARDED_HEADERS - {FORWARDED_FOR_HEADER}
        self._takes_principal: dict[type, bool] = {}
        self._takes_incremental: dict[type, bool] = {}
        self.streams: HttpStreams | None = None  # graphql-sse and multipart subscriptions (set by create_app)

    async def aclose(self) -> None:
        """Release what the endpoint holds (the APQ store's Redis connections)."""
        await self._persisted.aclose()

    async def handle(self, request: Request) -> Response:
        """Handle one request; never lets an exception or a traceback reach the client."""
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        with self._telemetry.observe(request, request_id) as observed:
            response = await self._answer(request, request_id, observed)
            observed.status = response.status_code
            return response

    async def _answer(self, request: Request, request_id: str, observed: Observation) -> Response:
        stream = negotiate_stream(request.headers.get("accept")) if self.streams is not None else None
        media_type = APPLICATION_JSON if stream else negotiate_response_type(request.headers.get("accept"))
        if media_type is None and accepts_incremental(request.headers.get("accept")):
            media_type = APPLICATION_JSON  # @defer clients that name only multipart (gateway/http/incremental.py)
        try:
            if media_type is None:
                raise RequestProblem(
                    406,
                    "NOT_ACCEPTABLE",
                    f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}",
                )
            answered = await self._handle(request, request_id, media_type, observed, stream)
            if isinstance(answered, Response):
                return answered  # a stream or @defer's parts: they add the id as they write
            body, status = answered
            headers: Mapping[str, str] = {}
        except EdgeRejection as problem:
            observed.refused(problem.code, problem.status, by_auth=not isinstance(problem, RequestProblem))
            body, status = _error_body(problem.message, problem.code, **problem.extensions), problem.status
            headers = problem.headers
        except Exception:
            # The log line carries the traceback and the id; the client only gets the id.
            logger.exception("request %s: unhandled error", request_id)
            observed.refused("INTERNAL_SERVER_ERROR", 500, by_auth=False)
            body, status, headers = _error_body("Internal server error", "INTERNAL_SERVER_ERROR"), 500, {}
        return _graphql_json(body, status, media_type or APPLICATION_JSON, headers, request_id)

    async def _handle(
        self, request: Request, request_id: str, media_type: str, observed: Observation, stream: str | None = None
    ) -> Response | tuple[dict[str, Any] | list[dict[str, Any]], int]:
        """A streaming response, or the body and status :func:`_graphql_json` writes."""
        method = request.method
        if method not in ("GET", "POST"):
            raise RequestProblem(
                405, "METHOD_NOT_ALLOWED", f"{method} is not supported; use GET or POST", {"allow": "GET, POST"}
            )
        loaded = self._state.current  # read once: this request stays on this runtime
        if loaded is None:
            raise RequestProblem(503, "SERVICE_UNAVAILABLE", "No supergraph is loaded yet", {"retry-after": "1"})
        runtime = loaded.runtime
        client = request.client.host if request.client else "unknown"
        who = await self._auth.authenticate(request.headers, client, getattr(runtime, "policy_names", ()))
        observed.tenant = who.principal.tenant_id
        if method == "GET":
            await self._auth.check_rate(who)
            incoming = self._from_query_params(request)
        else:
            decoded = await self._from_body(request)
            if isinstance(decoded, list):
                call = _Call(request, request_id, media_type, runtime, who, client)
                return await self._batch(decoded, call, observed)
            await self._auth.check_rate(who)
            incoming = _incoming(decoded)
        if stream is not None and self.streams is not None:  # gateway/http/streams.py
            return await self.streams.respond(stream, StreamCall(incoming, request, request_id, runtime, who, client))
        # @defer: a client taking multipart/mixed;deferSpec gets the parts as they come
        deferred: list[IncrementalOutcome] | None = [] if accepts_incremental(request.headers.get("accept")) else None
        call = _Call(request, request_id, media_type, runtime, who, client)
        body, status = await self._one(incoming, call, observed, deferred)
        if deferred:
            return incremental_response(deferred[0], request_id, self._settings.router_timeout)
        return body, status

    async def _batch(self, items: list[Any], call: _Call, observed: Observation) -> tuple[list[dict[str, Any]], int]:
        """A JSON array of operations: each rate-limited, resolved, authorized and run as one request."""
        config = self._persisted.config
        if not config.batching_enabled:
            raise RequestProblem(400, "BAD_REQUEST", "Batched requests are not supported")
        if not items:
            raise RequestProblem(400, "BAD_REQUEST", "A batch must hold at least one operation")
        if len(items) > config.batching_max_size:
            raise RequestProblem(
                400, "BATCH_LIMIT_EXCEEDED", f"A batch may hold at most {config.batching_max_size} operations"
            )

        async def answer(item: Any) -> dict[str, Any]:
            try:
                await self._auth.check_rate(call.who)
                body, _ = await self._one(_incoming(item), call, None)
                return body
            except EdgeRejection as problem:
                return _error_body(problem.message, problem.code, **problem.extensions)

        answers = await asyncio.gather(*(answer(item) for item in items))
        # Metrics see one request whose errors are those of every operation (codes counted each).
        errors = [error for body in answers for error in body.get("errors", ())]
        observed.executed(ExecutionOutcome(errors=errors), _codes(ExecutionOutcome(errors=errors)))
        return list(answers), 200

    async def _one(
        self, incoming: Incoming, call: _Call, observed: Observation | None,
        deferred: list[IncrementalOutcome] | None = None,
    ) -> tuple[dict[str, Any], int]:
        """Resolve persisted ids and run one operation: its response body and HTTP status
        (``deferred``: the client takes incremental delivery; an incremental outcome lands there)."""
        method = call.request.method
        try:
            resolved = await self._persisted.resolve(incoming)
        except PersistedProblem as problem:
            # Apollo clients read these from the body; graphql-response+json gets 400 (nothing ran).
            status = 200 if call.media_type == APPLICATION_JSON else 400
            raise RequestProblem(status, problem.code, problem.message) from None
        graphql_request = resolved.request
        operation_name = _operation_name(graphql_request)
        if observed is not None:
            observed.parsed(graphql_request, operation_name)
        runtime = call.runtime
        # The plan shows subgraph names and internal shapes: development servers only.
        include_plan = self._settings.development and _truthy(call.request.headers.get(DEBUG_PLAN_HEADER))
        options: dict[str, Any] = {"principal": call.who.principal} if self._takes_principal_of(runtime) else {}
        if deferred is not None and self._takes_incremental_of(runtime):
            options["incremental"] = True
        # The router timeout bounds each operation's execution, besides each subgraph fetch's own timeout.
        deadline = asyncio.timeout(self._settings.router_timeout or None)
        try:
            async with deadline:
                outcome: ExecutionOutcome = await runtime.execute(
                    graphql_request,
                    transport=self._transport,
                    headers=self._forwarded_headers(call.request, call.request_id, call.who, call.client),
                    include_plan=include_plan,
                    allow_mutations=method == "POST",
                    **options,
                )
        except TimeoutError:
            if not deadline.expired():
                raise
            message = f"The request did not complete within {self._settings.router_timeout:g} seconds"
            raise RequestProblem(504, "GATEWAY_TIMEOUT", message) from None
        if not outcome.request_error:
            await self._persisted.register(resolved)  # a document that never ran is not kept
        if deferred is not None and isinstance(outcome, IncrementalOutcome):
            deferred.append(outcome)
        codes = _codes(outcome)
        if observed is not None:
            observed.executed(outcome, codes)
        audit(call.who, call.request_id, outcome.operation_type, operation_name, codes)
        if outcome.operation_type == "subscription" and outcome.request_error:
            # plain JSON cannot carry a stream: name the protocols that can (same code, nothing ran)
            return _error_body(SUBSCRIPTIONS_ELSEWHERE, "OPERATION_NOT_ALLOWED"), (
                200 if call.media_type == APPLICATION_JSON else 400
            )
        if method == "GET" and outcome.operation_type == "mutation":
            raise RequestProblem(
                405,
                "METHOD_NOT_ALLOWED",
                f"Only queries are allowed over GET; send the {outcome.operation_type} with POST",
                {"allow": "POST"},
            )
        status = 200
        if outcome.request_error and call.media_type == GRAPHQL_RESPONSE_JSON:
            # Legacy application/json clients get 200 for any well-formed request;
            # graphql-response+json clients get 400 when the operation never ran.
            status = 400
        return outcome.to_response(), status

    async def run_one(
        self, incoming: Incoming, request: Request, request_id: str, runtime: Runtime, who: Authenticated, client: str
    ) -> dict[str, Any]:
        """One query or mutation for the subscription protocols (WebSocket, SSE, multipart): its result."""
        try:
            call = _Call(request, request_id, APPLICATION_JSON, runtime, who, client)
            body, _ = await self._one(incoming, call, None)
        except EdgeRejection as problem:
            return _error_body(problem.message, problem.code, **problem.extensions)
        return body

    def _takes_principal_of(self, runtime: Runtime) -> bool:
        """Whether ``runtime.execute`` accepts ``principal`` (asked once per runtime class)."""
        kind = type(runtime)
        takes = self._takes_principal.get(kind)
        if takes is None:
            takes = "principal" in inspect.signature(runtime.execute).parameters
            self._takes_principal[kind] = takes
        return takes

    def _takes_incremental_of(self, runtime: Runtime) -> bool:
        """Whether ``runtime.execute`` accepts ``incremental`` (by name, or through ``**options``)."""
        kind = type(runtime)
        takes = self._takes_incremental.get(kind)
        if takes is None:
            parameters = inspect.signature(runtime.execute).parameters
            takes = "incremental" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())
            self._takes_incremental[kind] = takes
        return takes

    def _forwarded_headers(self, request: Request, request_id: str, who: Authenticated, client: str) -> dict[str, str]:
        forwarded: dict[str, str] = {}
        for name, value in request.headers.items():
            if name in self._forward:
                if name in forwarded and name in _CHECKED_HEADERS:
                    continue  # the edge checked the first value only: a second one must not ride along
                forwarded[name] = f"{forwarded[name]}, {value}" if name in forwarded else value
        if REQUEST_ID_HEADER in self._forward:
            forwarded[REQUEST_ID_HEADER] = request_id  # generated ids propagate too
        if who.tenant_header is None:
            forwarded.pop(TENANT_HEADER, None)  # only a tenant choice the edge accepted goes on
        forwarded[FORWARDED_FOR_HEADER] = client
        return forwarded

    def _from_query_params(self, request: Request) -> Incoming:
        params = request.query_params
        query = params.get("query") or None
        extensions = _json_object_param(params.get("extensions"), "extensions")
        document_id = params.get("documentId") or None
        if query is None and document_id is None and not (extensions and "persistedQuery" in extensions):
            raise RequestProblem(400, "BAD_REQUEST", "Missing query: pass it in the query parameter")
        return Incoming(
            query=query,
            variables=_json_object_param(params.get("variables"), "variables"),
            operation_name=params.get("operationName") or None,
            extensions=extensions,
            document_id=document_id,
        )

    async def _from_body(self, request: Request) -> dict[str, Any] | list[Any]:
        if not is_json_content_type(request.headers.get("content-type")):
            raise RequestProblem(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json (UTF-8)")
        body = await self._read_body(request)
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RequestProblem(400, "BAD_REQUEST", "The request body is not valid JSON") from None
        if not isinstance(decoded, dict | list):
            raise RequestProblem(400, "BAD_REQUEST", "The request body must be a JSON object")
        return decoded

    async def _read_body(self, request: Request) -> bytes:
        limit = self._settings.max_body_bytes
        too_large = RequestProblem(413, "PAYLOAD_TOO_LARGE", f"The request body exceeds {limit} bytes")
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    raise too_large
            except ValueError:
                raise RequestProblem(400, "BAD_REQUEST", "Invalid Content-Length") from None
        # Chunked bodies have no declared length: count while reading, stop at the limit.
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
        except ClientDisconnect:  # gone, or closed by the body timeout (gateway/http/guards.py)
            raise RequestProblem(408, "REQUEST_TIMEOUT", "The request body was not received completely") from None
        return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class _Call:
    """What every operation of one HTTP request shares."""

    request: Request
    request_id: str
    media_type: str
    runtime: Runtime
    who: Authenticated
    client: str


def _incoming(decoded: Any) -> Incoming:
    """One operation of a POST body (an object), checked field by field."""
    if not isinstance(decoded, dict):
        raise RequestProblem(400, "BAD_REQUEST", "The request body must be a JSON object")
    query = decoded.get("query")
    if query is not None and not isinstance(query, str):
        raise RequestProblem(400, "BAD_REQUEST", "query must be a string")
    variables = decoded.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestProblem(400, "BAD_REQUEST", "variables must be a JSON object")
    operation_name = decoded.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestProblem(400, "BAD_REQUEST", "operationName must be a string")
    extensions = decoded.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestProblem(400, "BAD_REQUEST", "extensions must be a JSON object")
    document_id = decoded.get("documentId")
    if document_id is not None and not (isinstance(document_id, str) and document_id):
        raise RequestProblem(400, "BAD_REQUEST", "documentId must be a non-empty string")
    if not query and document_id is None and not (extensions and "persistedQuery" in extensions):
        raise RequestProblem(400, "BAD_REQUEST", "Missing query")
    return Incoming(
        query=query or None,
        variables=variables,
        operation_name=operation_name or None,
        extensions=extensions,
        document_id=document_id,
    )


def _operation_name(request: GraphQLRequest) -> str | None:
    """The operation's name for audit lines: the one asked for, or the document's first (no parse)."""
    if request.operation_name:
        return request.operation_name
    match = _OPERATION_NAME.match(request.query)
    return match[1] if match else None


def _codes(outcome: ExecutionOutcome) -> list[str]:
    codes: list[str] = []
    for error in outcome.errors:
        extensions = error.get("extensions")
        code = extensions.get("code") if isinstance(extensions, dict) else None
        codes.append(str(code) if code else "ERROR")
    return codes


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


def _json_object_param(raw: str | None, name: str) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestProblem(400, "BAD_REQUEST", f"{name} is not valid JSON") from None
    if decoded is None:
        return None
    if not isinstance(decoded, dict):
        raise RequestProblem(400, "BAD_REQUEST", f"{name} must be a JSON object")
    return decoded


class HealthEndpoint:
    """``/health``, ``/health/live``, ``/health/ready``: 200 once a supergraph is loaded, 503 before.

    ``/health/ready`` and ``/health`` also report each subgraph's circuit (and probe) from
    ``subgraphs``; when its ``check`` is on, an unhealthy subgraph makes them answer 503,
    otherwise the status says ``warn``. ``/health/live`` only looks at the supergraph (cheap).
    """

    def __init__(self, state: GatewayState, subgraphs: SubgraphHealth | None = None) -> None:
        self._state = state
        self._subgraphs = subgraphs

    async def live(self, request: Request) -> Response:
        """Whether a supergraph is loaded, which one, and the last refused one."""
        return self._answer(None)

    async def handle(self, request: Request) -> Response:
        """What :meth:`live` says, plus the subgraphs' health."""
        return self._answer(self._subgraphs)

    def _answer(self, subgraphs: SubgraphHealth | None) -> Response:
        loaded = self._state.current
        body: dict[str, Any] = {"status": "pass" if loaded is not None else "fail"}
        ready = loaded is not None
        if subgraphs is not None:
            healthy, entries = subgraphs.report()
            if entries:
                body["subgraphs"] = entries
            if not healthy and ready:
                ready = not subgraphs.check
                body["status"] = "warn" if ready else "fail"
        if loaded is not None:
            body["supergraph"] = {"sha256": loaded.sha256, "loadedAt": loaded.loaded_at.isoformat()}
        rejected = self._state.last_rejected
        if rejected is not None:
            # The digest only: the reason may quote SDL, which the server log holds.
            body["rejected"] = {"sha256": rejected.sha256, "rejectedAt": rejected.rejected_at.isoformat()}
        return _json(body, 200 if ready else 503, headers={"cache-control": "no-store"})


async def _unhandled(request: Request, exc: Exception) -> Response:
    # Reached only for failures outside the endpoints (middleware, routing).
    request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    logger.error("request %s: unhandled %s on %s %s", request_id, type(exc).__name__, request.method, request.url.path)
    return _graphql_json(_error_body("Internal server error", "INTERNAL_SERVER_ERROR"), 500, APPLICATION_JSON, {},
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
