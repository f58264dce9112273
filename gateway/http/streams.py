"""What the three subscription protocols of ``/graphql`` share, and the two HTTP streaming ones.

Protocols (all on ``/graphql``, chosen from the request as the peers do):

- WebSocket with the ``graphql-transport-ws`` subprotocol (gateway/http/ws.py);
- graphql-sse, distinct connections mode: GET or POST with ``Accept: text/event-stream`` (gateway/http/sse.py);
- Apollo multipart HTTP: ``Accept: multipart/mixed;subscriptionSpec="1.0"`` (gateway/http/multipart.py).

The HTTP edge (gateway/http/graphql_endpoint.py) authenticates, rate-limits and decodes a streaming request
as it does any other, then hands it to :class:`HttpStreams`: the operation goes to the
subscription service (``gateway.subscriptions``); a query or mutation the service refuses
with ``OPERATION_NOT_ALLOWED`` runs once through the endpoint (one result, then the end).

When the server stops (SIGTERM), each open stream ends at once with a final message
(``SERVER_SHUTTING_DOWN``: subscribe again, with ``Last-Event-ID`` over graphql-sse) and the
protocol's end (``event: complete``, the closing delimiter); gateway/http/guards.py tells it.

A client that stops reading holds at most one message in the gateway: each write waits for the
socket at most ``subscriptions.send_timeout`` seconds, then the connection is dropped (the
service's queue is bounded and drops or disconnects on its own side).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request

from gateway.auth.stage import UNAUTHENTICATED, Authenticated
from gateway.contracts import GraphQLRequest, Runtime
from gateway.http.correlation import with_request_id
from gateway.http.negotiation import media_ranges
from gateway.http.stream_response import BoundedStreamingResponse
from gateway.persisted import Incoming, PersistedOperations, PersistedProblem
from gateway.settings import Settings
from gateway.subscriptions.messages import (
    OPERATION_NOT_ALLOWED,
    SubscriptionMessage,
    SubscriptionRejected,
    SubscriptionStream,
)

logger = logging.getLogger("gateway.http.streams")

WS_PROTOCOL = "graphql-transport-ws"
SSE_PROTOCOL = "graphql-sse"
MULTIPART_PROTOCOL = "multipart"
EVENT_STREAM = "text/event-stream"
MULTIPART_MIXED = "multipart/mixed"

CONNECTION_LIFETIME_EXCEEDED = "CONNECTION_LIFETIME_EXCEEDED"
SERVER_SHUTTING_DOWN = "SERVER_SHUTTING_DOWN"
SHUTDOWN_MESSAGE = "The gateway is shutting down; subscribe again (graphql-sse: with Last-Event-ID to resume)"
TOKEN_EXPIRED_MESSAGE = "The token expired; subscribe again with a fresh token"
LIFETIME_MESSAGE = "The connection reached its maximum lifetime; subscribe again"
SUBSCRIPTIONS_ELSEWHERE = (
    "Subscriptions are not served as plain JSON over GET or POST. Subscribe on /graphql with a WebSocket "
    "(subprotocol graphql-transport-ws), with graphql-sse (Accept: text/event-stream) or with "
    'multipart HTTP (Accept: multipart/mixed;subscriptionSpec="1.0")'
)


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """The edge's subscription settings (YAML section ``subscriptions``); 0 turns one off."""

    init_timeout: float = 10.0
    max_per_connection: int = 100
    max_frame_bytes: int = 262_144
    heartbeat_interval: float = 5.0
    ping_interval: float = 15.0
    send_timeout: float = 10.0
    max_connection_lifetime: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamLimits:
        return cls(
            init_timeout=settings.subscriptions_init_timeout,
            max_per_connection=settings.subscriptions_max_per_connection,
            max_frame_bytes=settings.subscriptions_max_frame_bytes,
            heartbeat_interval=settings.subscriptions_heartbeat_interval,
            ping_interval=settings.subscriptions_ping_interval,
            send_timeout=settings.subscriptions_send_timeout,
            max_connection_lifetime=settings.subscriptions_max_connection_lifetime,
        )


class SubscriptionService(Protocol):
    """What the edge needs of ``gateway.subscriptions.service.Subscriptions``."""

    async def open(
        self,
        request: GraphQLRequest,
        *,
        principal: Any,
        headers: Mapping[str, str],
        last_event_id: str | None = None,
    ) -> SubscriptionStream | SubscriptionRejected: ...

    async def aclose(self) -> None: ...


class ConnectionGauge(Protocol):
    """A labelled gauge (``gateway_subscription_connections``)."""

    def labels(self, *values: str) -> Any: ...


# (incoming, request, request id, runtime, who, client) -> the response body of one query or mutation
RunOne = Callable[[Incoming, Request, str, Runtime, Authenticated, str], Awaitable[dict[str, Any]]]
ForwardedHeaders = Callable[[Request, str, Authenticated, str], dict[str, str]]


@dataclass(frozen=True, slots=True)
class StreamDeps:
    """What the protocol handlers use of the HTTP edge (built once in ``create_app``)."""

    limits: StreamLimits
    subscriptions: SubscriptionService
    persisted: PersistedOperations
    forwarded_headers: ForwardedHeaders
    run_one: RunOne
    connections: ConnectionGauge


def error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """One GraphQL error with a stable ``extensions.code``."""
    return {"message": message, "extensions": {"code": code, **extensions}}


def negotiate_stream(accept: str | None) -> str | None:
    """The streaming protocol an ``Accept`` header asks for: multipart, graphql-sse, or None (plain JSON).

    ``multipart/mixed`` counts only with a ``subscriptionSpec`` parameter (``deferSpec`` alone is
    incremental delivery: gateway/http/incremental.py). Quality values order the candidates;
    a tie goes to the one named first.
    """
    if not accept:
        return None
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for index, accepted in enumerate(media_ranges(accept)):
        if accepted.media == EVENT_STREAM:
            candidate = SSE_PROTOCOL
        elif accepted.media == MULTIPART_MIXED and "subscriptionspec" in accepted.params:
            candidate = MULTIPART_PROTOCOL
        else:
            continue
        quality = accepted.quality
        if quality <= 0:
            continue
        key = (quality, -index)
        if best is None or key > best:
            best, chosen = key, candidate
    return chosen


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a subscription connection must end: the token's ``exp`` or the connection's lifetime."""

    expires_at: float | None  # wall clock (seconds since the epoch)
    lifetime_ends: float | None  # loop clock

    @classmethod
    def start(cls, who: Authenticated, lifetime: float) -> Deadline:
        ends = asyncio.get_running_loop().time() + lifetime if lifetime > 0 else None
        return cls(float(who.expires_at) if who.expires_at is not None else None, ends)

    def remaining(self) -> float:
        """Seconds until the deadline (``inf`` when there is none)."""
        left = math.inf
        if self.expires_at is not None:
            left = self.expires_at - time.time()
        if self.lifetime_ends is not None:
            left = min(left, self.lifetime_ends - asyncio.get_running_loop().time())
        return max(0.0, left)

    def token_expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at

    def final_message(self) -> SubscriptionMessage:
        """The last message of a stream that reached this deadline."""
        if self.token_expired():
            return SubscriptionMessage({"errors": [error(TOKEN_EXPIRED_MESSAGE, UNAUTHENTICATED)]}, final=True)
        return SubscriptionMessage({"errors": [error(LIFETIME_MESSAGE, CONNECTION_LIFETIME_EXCEEDED)]}, final=True)


async def follow(
    stream: SubscriptionStream, deadline: Deadline, heartbeat: float
) -> AsyncGenerator[SubscriptionMessage | None, None]:
    """The messages of ``stream``; ``None`` after each ``heartbeat`` seconds without one; a final
    message at ``deadline``. Closes ``stream`` when done (or when the consumer stops)."""
    iterator = aiter(stream)
    pending: asyncio.Future[SubscriptionMessage] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            wait = min(deadline.remaining(), heartbeat if heartbeat > 0 else math.inf)
            done, _ = await asyncio.wait({pending}, timeout=None if math.isinf(wait) else wait)
            if done:
                finished, pending = pending, None
                try:
                    message = finished.result()
                except StopAsyncIteration:
                    return
                yield message
                if message.final:
                    return
            elif deadline.remaining() <= 0:
                yield deadline.final_message()
                return
            else:
                yield None
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await stream.aclose()


class Framing(Protocol):
    """How one HTTP streaming protocol writes messages (gateway/http/sse.py, multipart.py)."""

    protocol: str
    content_type: str

    def message(self, message: SubscriptionMessage) -> bytes: ...
    def heartbeat(self) -> bytes: ...
    def end(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class StreamCall:
    """One streaming HTTP request, authenticated and decoded by the endpoint."""

    incoming: Incoming
    request: Request
    request_id: str
    runtime: Runtime
    who: Authenticated
    client: str


class HttpStreams:
    """graphql-sse and multipart subscriptions on ``/graphql`` (see the module docstring)."""

    def __init__(self, deps: StreamDeps, framings: Mapping[str, Framing]) -> None:
        self._deps = deps
        self._framings = dict(framings)
        # the last message of a stream the server stops: framed per stream, with that stream's request id
        self._ending = SubscriptionMessage({"errors": [error(SHUTDOWN_MESSAGE, SERVER_SHUTTING_DOWN)]}, final=True)

    async def respond(self, protocol: str, call: StreamCall) -> BoundedStreamingResponse:
        """The streaming response of one request; every outcome (refusals too) is in the stream."""
        framing = self._framings[protocol]
        deps = self._deps
        gauge = deps.connections.labels(framing.protocol)
        gauge.inc()
        deadline = Deadline.start(call.who, deps.limits.max_connection_lifetime)
        chunks = self._chunks(framing, call, deadline)
        headers = {"cache-control": "no-cache", "x-accel-buffering": "no", "x-request-id": call.request_id}
        return BoundedStreamingResponse(
            chunks,
            content_type=framing.content_type,
            headers=headers,
            send_timeout=deps.limits.send_timeout,
            on_end=gauge.dec,
            farewell=_framed(framing, self._ending, call.request_id) + framing.end(),
        )

    async def _chunks(self, framing: Framing, call: StreamCall, deadline: Deadline) -> AsyncIterator[bytes]:
        try:
            opened = await self._open(call)
        except Exception:
            logger.exception("request %s: the subscription could not be opened", call.request_id)
            opened = SubscriptionMessage({"errors": [error("Internal server error", "INTERNAL_SERVER_ERROR")]})
        if isinstance(opened, SubscriptionMessage):
            yield _framed(framing, opened, call.request_id)
            yield framing.end()
            return
        async with contextlib.aclosing(follow(opened, deadline, self._deps.limits.heartbeat_interval)) as messages:
            async for message in messages:
                yield framing.heartbeat() if message is None else _framed(framing, message, call.request_id)
        yield framing.end()

    async def _open(self, call: StreamCall) -> SubscriptionStream | SubscriptionMessage:
        """The service's stream, or the one message that answers the request (a result or request errors,
        never ``final``: multipart writes those as GraphQL errors, not transport errors)."""
        deps = self._deps
        try:
            resolved = await deps.persisted.resolve(call.incoming)
        except PersistedProblem as problem:
            return SubscriptionMessage({"errors": [error(problem.message, problem.code)]})
        headers = deps.forwarded_headers(call.request, call.request_id, call.who, call.client)
        last_event_id = call.request.headers.get("last-event-id") or None
        opened = await deps.subscriptions.open(
            resolved.request, principal=call.who.principal, headers=headers, last_event_id=last_event_id
        )
        if not isinstance(opened, SubscriptionRejected):
            return opened
        if _only_code(opened.errors, OPERATION_NOT_ALLOWED):
            # a query or mutation: one result through the endpoint (limits, audit and timeouts included)
            body = await deps.run_one(call.incoming, call.request, call.request_id, call.runtime, call.who, call.client)
            return SubscriptionMessage(body)
        return SubscriptionMessage({"errors": list(opened.errors)})


def _framed(framing: Framing, message: SubscriptionMessage, request_id: str) -> bytes:
    """``message`` written by ``framing``: where a graphql-sse or multipart stream serialises a message, so where
    its errors get ``extensions.requestId`` (gateway/http/correlation.py; the shared event is not changed)."""
    payload = with_request_id(message.payload, request_id)
    return framing.message(message if payload is message.payload else dataclasses.replace(message, payload=payload))


def _only_code(errors: list[dict[str, Any]], code: str) -> bool:
    codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
    return codes == {code}
