"""The ``/graphql`` endpoint over HTTP: GET and POST requests (single and batched) authenticated,
rate-limited, resolved through persisted operations and run on the current runtime, and their outcomes
turned into responses (JSON, @defer's parts, or a subscription stream through gateway/http/streams.py).

Requests are decoded in :mod:`gateway.http.decoding`, bodies written by :mod:`gateway.http.bodies`;
the application around it is assembled in :mod:`gateway.http.app`."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.auth.stage import TENANT_HEADER, Authenticated, AuthStage, EdgeRejection, audit
from gateway.contracts import ExecutionOutcome, GraphQLRequest, Runtime, SubgraphTransport
from gateway.http.accept import AcceptDecision, AcceptDecisions
from gateway.http.bodies import error_body, graphql_json, response_body
from gateway.http.correlation import REQUEST_ID_HEADER, request_id_from
from gateway.http.decoding import RequestProblem, decoded_body, incoming_from, query_params_incoming
from gateway.http.incremental import incremental_response
from gateway.http.negotiation import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON
from gateway.http.state import GatewayState
from gateway.http.streams import SUBSCRIPTIONS_ELSEWHERE, HttpStreams, StreamCall
from gateway.incremental import IncrementalOutcome
from gateway.persisted import Incoming, PersistedOperations, PersistedProblem, persisted_from_settings
from gateway.settings import Settings
from gateway.telemetry import Observation, Telemetry
from gateway.transport import NEVER_FORWARDED_HEADERS

logger = logging.getLogger("gateway.http")

DEBUG_PLAN_HEADER = "x-gateway-debug-plan"
FORWARDED_FOR_HEADER = "x-forwarded-for"

# Headers the authentication stage checked (it reads the first value): forwarded exactly as checked.
_CHECKED_HEADERS = frozenset({"authorization", TENANT_HEADER})
_OPERATION_NAME = re.compile(r"\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


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
        self._accept = AcceptDecisions()

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
        accept = self._accept.decide(request.headers.get("accept"), streams=self.streams is not None)
        media_type = accept.media_type
        try:
            if media_type is None:
                raise RequestProblem(
                    406,
                    "NOT_ACCEPTABLE",
                    f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}",
                )
            answered = await self._handle(request, request_id, media_type, observed, accept)
            if isinstance(answered, Response):
                return answered  # a stream or @defer's parts: they add the id as they write
            body, status = answered
            headers: Mapping[str, str] = {}
        except EdgeRejection as problem:
            observed.refused(problem.code, problem.status, by_auth=not isinstance(problem, RequestProblem))
            body, status = error_body(problem.message, problem.code, **problem.extensions), problem.status
            headers = problem.headers
        except Exception:
            # The log line carries the traceback and the id; the client only gets the id.
            logger.exception("request %s: unhandled error", request_id)
            observed.refused("INTERNAL_SERVER_ERROR", 500, by_auth=False)
            body, status, headers = error_body("Internal server error", "INTERNAL_SERVER_ERROR"), 500, {}
        return graphql_json(body, status, media_type or APPLICATION_JSON, headers, request_id)

    async def _handle(
        self, request: Request, request_id: str, media_type: str, observed: Observation, accept: AcceptDecision
    ) -> Response | tuple[dict[str, Any] | list[dict[str, Any]], int]:
        """A streaming response, or the body and status :func:`~gateway.http.bodies.graphql_json` writes."""
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
            incoming = query_params_incoming(request)
        else:
            decoded = await decoded_body(request, self._settings.max_body_bytes)
            if isinstance(decoded, list):
                call = _Call(request, request_id, media_type, runtime, who, client)
                return await self._batch(decoded, call, observed)
            await self._auth.check_rate(who)
            incoming = incoming_from(decoded)
        if accept.stream is not None and self.streams is not None:  # gateway/http/streams.py
            return await self.streams.respond(
                accept.stream, StreamCall(incoming, request, request_id, runtime, who, client)
            )
        # @defer: a client taking multipart/mixed;deferSpec gets the parts as they come
        deferred: list[IncrementalOutcome] | None = [] if accept.incremental else None
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
                body, _ = await self._one(incoming_from(item), call, None)
                return body
            except EdgeRejection as problem:
                return error_body(problem.message, problem.code, **problem.extensions)

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
            return error_body(SUBSCRIPTIONS_ELSEWHERE, "OPERATION_NOT_ALLOWED"), (
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
        return response_body(outcome), status

    async def run_one(
        self, incoming: Incoming, request: Request, request_id: str, runtime: Runtime, who: Authenticated, client: str
    ) -> dict[str, Any]:
        """One query or mutation for the subscription protocols (WebSocket, SSE, multipart): its result."""
        try:
            call = _Call(request, request_id, APPLICATION_JSON, runtime, who, client)
            body, _ = await self._one(incoming, call, None)
        except EdgeRejection as problem:
            return error_body(problem.message, problem.code, **problem.extensions)
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


@dataclass(frozen=True, slots=True)
class _Call:
    """What every operation of one HTTP request shares."""

    request: Request
    request_id: str
    media_type: str
    runtime: Runtime
    who: Authenticated
    client: str


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
