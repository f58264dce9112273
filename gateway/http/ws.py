"""``graphql-transport-ws`` (the graphql-ws library's protocol) on the gateway's ``/graphql``.

One socket carries one connection: ``connection_init`` (its payload carries ``authorization`` and
``x-tenant-id``, checked by the same authentication stage as HTTP requests) -> ``connection_ack``,
then any number of operations, each ``subscribe`` -> ``next``* -> ``complete`` (or ``error`` for a
request refused before it ran). ``ping`` is answered with ``pong``; the gateway pings too.
Queries and mutations run once (one ``next``, then ``complete``), as graphql-ws allows.

Close codes (the protocol's, plus RFC 6455's):

======  ================================================================================
4400    a message that is not JSON, has an unknown ``type`` or lacks required fields
4401    ``subscribe`` before the connection was acknowledged
4403    the token or the tenant was refused at ``connection_init`` (401 / 403 over HTTP),
        and when the token expires (its subscriptions first end with ``UNAUTHENTICATED``)
4406    a subprotocol other than ``graphql-transport-ws`` (the legacy ``graphql-ws`` one)
4408    no ``connection_init`` within ``subscriptions.init_timeout`` seconds
4409    a ``subscribe`` whose id is already running on this connection
4429    a second ``connection_init``
1001    the connection reached ``subscriptions.max_connection_lifetime`` (clients reconnect)
1009    a message larger than ``subscriptions.max_frame_bytes``
1013    authentication is unavailable (identity cannot be asked); try again later
======  ================================================================================

More than ``subscriptions.max_per_connection`` operations at once: that ``subscribe`` gets an
``error`` with ``SUBSCRIPTION_LIMIT_REACHED`` (the connection stays). A rate-limited ``subscribe``
gets ``RATE_LIMITED``. A client that leaves a message unread for ``subscriptions.send_timeout``
seconds is dropped; nothing queues up in the gateway meanwhile (one message per socket at most).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.auth.stage import TENANT_HEADER, UNAUTHENTICATED, Authenticated, AuthStage, EdgeRejection
from gateway.http.state import GatewayState
from gateway.http.streams import TOKEN_EXPIRED_MESSAGE, WS_PROTOCOL, StreamDeps, error
from gateway.http.ws_send import NextFrames, PingClock, SendWatch, next_prefix, start_eagerly
from gateway.persisted import Incoming, PersistedProblem
from gateway.subscriptions.messages import (
    OPERATION_NOT_ALLOWED,
    SUBSCRIPTION_LIMIT_REACHED,
    SubscriptionRejected,
)

logger = logging.getLogger("gateway.http.ws")

BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
SUBSCRIBER_EXISTS = 4409
TOO_MANY_INIT = 4429
GOING_AWAY = 1001
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# connection_init payload keys (either spelling) -> the header the authentication stage reads
_PAYLOAD_HEADERS = {"authorization": "authorization", "x-tenant-id": TENANT_HEADER, "x-request-id": "x-request-id"}


class GraphQLWebSocket:
    """The WebSocket side of ``/graphql`` (see the module docstring)."""

    def __init__(self, deps: StreamDeps, state: GatewayState, auth: AuthStage) -> None:
        self.deps = deps
        self.state = state
        self.auth = auth
        self.frames = NextFrames()  # each event's payload encoded once for all its subscribers
        self.watch = SendWatch(deps.limits.send_timeout)  # one timer for every connection's writes
        self.pings = PingClock(deps.limits.ping_interval)  # one timer pings every connection

    def asgi(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """The raw ASGI entry (gateway/http/ws_protocol.py GatewayApp): :meth:`handle`'s coroutine itself."""
        return self.handle(WebSocket(scope, receive, send))

    async def handle(self, websocket: WebSocket) -> None:
        """Serve one socket until either side closes it."""
        offered = list(websocket.scope.get("subprotocols") or ())
        if WS_PROTOCOL not in offered:
            # The close code needs an open socket: accept, then close with the reason.
            await websocket.accept(subprotocol=offered[0] if offered else None)
            with contextlib.suppress(Exception):
                await websocket.close(SUBPROTOCOL_NOT_ACCEPTABLE, f"Subprotocol not acceptable: use {WS_PROTOCOL}")
            return
        await websocket.accept(subprotocol=WS_PROTOCOL)
        gauge = self.deps.connections.labels(WS_PROTOCOL)
        gauge.inc()
        try:
            await _Connection(self, websocket).run()
        finally:
            gauge.dec()


class _Connection:
    """One acknowledged-or-not graphql-transport-ws connection: its state machine and its operations.

    Lean per socket (thousands stay open): the ASGI task reads; timers are loop handles, not tasks;
    each running operation is one task; pings and send timeouts come from the owner's one timer each.
    Methods (more than 15: one per protocol message, timer and output of one state machine, which
    shares its state; split, each piece would reach into the others): run, the frame handlers
    (_on_text, _init, _subscribe, _complete), one per operation (_operate, _operation_done), the timers
    (_later, ping, too_slow, _expire) and the outputs (send, send_text, _refuse, close, _stop).
    """

    __slots__ = tuple(
        "_auth_headers _client _closed _deps _forwarded _init_seen _limits _operations _owner"
        " _request_id _spawned _task _timers _who _ws writing writing_since".split()
    )

    def __init__(self, owner: GraphQLWebSocket, websocket: WebSocket) -> None:
        self._owner = owner
        self._deps = owner.deps
        self._limits = owner.deps.limits
        self._ws = websocket
        self._client = websocket.client.host if websocket.client else "unknown"
        self._who: Authenticated | None = None
        self._auth_headers: dict[str, str] = {}
        self._forwarded: dict[str, str] = {}  # what goes to subgraphs for this connection's operations
        self._request_id = ""
        self._init_seen = False
        self._closed = False
        self._task: asyncio.Task[Any] | None = None
        self._operations: dict[str, asyncio.Task[None]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}  # at most one per kind (init, lifetime, expiry)
        self._spawned: set[asyncio.Task[None]] | None = None
        self.writing = 0  # writes in flight and when the oldest began (the owner's SendWatch looks)
        self.writing_since = 0.0

    # -- the connection -----------------------------------------------------------------------------------------
    async def run(self) -> None:
        self._task = task = asyncio.current_task()
        if self._limits.init_timeout > 0:
            self._later("init", self._limits.init_timeout, self._init_timed_out)
        if self._limits.max_connection_lifetime > 0:
            self._later("lifetime", self._limits.max_connection_lifetime, self._lifetime_over)
        try:
            while not self._closed:
                message = await self._ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    try:
                        text = (message.get("bytes") or b"").decode("utf-8")
                    except UnicodeDecodeError:
                        await self.close(BAD_REQUEST, "Invalid message received")
                        break
                await self._on_text(text)
        except asyncio.CancelledError:
            if not self._closed or task is None:
                raise  # the server's, not ours (_stop)
            task.uncancel()
        finally:
            self._closed = True
            self._owner.pings.discard(self)
            for timer in self._timers.values():
                timer.cancel()
            pending = [*self._operations.values(), *(self._spawned or ())]
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(BaseException):
                    await task

    def _later(self, kind: str, seconds: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` in ``seconds`` (a loop timer; replaces the previous one of its ``kind``)."""
        previous = self._timers.pop(kind, None)
        if previous is not None:
            previous.cancel()
        self._timers[kind] = asyncio.get_running_loop().call_later(seconds, callback)

    def _spawn(self, work: Coroutine[Any, Any, None] | asyncio.Future[None]) -> None:
        """Run ``work`` in a task of its own, kept until done (closes from timers, a ping that waits)."""
        if self._spawned is None:
            self._spawned = set()
        task = asyncio.ensure_future(work)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    def _stop(self) -> None:
        """End the connection from another task: the reading task stops waiting for the client."""
        self._closed = True
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    async def send(self, message: Mapping[str, Any]) -> None:
        """Write one message; a client that does not take it within the send timeout is dropped."""
        if not self._closed:
            await self.send_text(orjson.dumps(message).decode("utf-8"))

    async def send_text(self, text: str) -> None:
        """Write one frame; the owner's :class:`SendWatch` drops a client that leaves it unread for
        the send timeout (:meth:`too_slow`). No lock: uvicorn writes each message in one piece once
        the socket is writable."""
        if self._closed:
            return
        watch = self._owner.watch
        watch.begin(self)
        try:
            await self._ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._stop()
        finally:
            watch.end(self)

    def too_slow(self) -> None:
        logger.info("websocket client %s did not read for %s s: dropped", self._client, self._limits.send_timeout)
        self._stop()

    async def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` (``reason`` cut to the 123 bytes a close frame holds)."""
        if self._closed:
            return
        self._closed = True
        cut = reason.encode("utf-8")[:123].decode("utf-8", "ignore")
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._limits.send_timeout or None):
                await self._ws.close(code, cut)
        self._stop()

    # -- messages from the client -------------------------------------------------------------------------------
    async def _on_text(self, text: str) -> None:
        limit = self._limits.max_frame_bytes
        if limit and len(text) * 4 > limit and len(text.encode("utf-8")) > limit:
            await self.close(MESSAGE_TOO_BIG, f"Message too big: the limit is {limit} bytes")
            return
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            await self.close(BAD_REQUEST, "Invalid message received: not JSON")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "connection_init":
            await self._init(message)
        elif kind == "ping":
            await self.send({"type": "pong", **({"payload": message["payload"]} if "payload" in message else {})})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            await self._complete(message)
        elif isinstance(kind, str):
            await self.close(BAD_REQUEST, f"Invalid message received: unknown type {kind[:40]!r}")
        else:
            await self.close(BAD_REQUEST, "Invalid message received: no type")

    async def _init(self, message: dict[str, Any]) -> None:
        if self._init_seen:
            await self.close(TOO_MANY_INIT, "Too many initialisation requests")
            return
        self._init_seen = True
        timer = self._timers.pop("init", None)
        if timer is not None:
            timer.cancel()
        payload = message.get("payload")
        headers = _auth_headers(self._ws.headers, payload if isinstance(payload, dict) else {})
        if (payload is not None and not isinstance(payload, dict)) or headers is None:
            await self.close(BAD_REQUEST, "Invalid message received: connection_init payload")
            return
        loaded = self._owner.state.current
        policies = getattr(loaded.runtime, "policy_names", ()) if loaded is not None else ()
        try:
            who = await self._owner.auth.authenticate(headers, self._client, policies)
        except EdgeRejection as problem:
            if problem.status == 503:
                await self.close(TRY_AGAIN_LATER, "Try again later: authentication is unavailable")
            else:
                await self.close(FORBIDDEN, f"Forbidden: {problem.message}")
            return
        request_id = headers.get("x-request-id", "")
        self._request_id = request_id if _SAFE_REQUEST_ID.match(request_id) else uuid.uuid4().hex
        self._who = who
        self._auth_headers = headers
        self._forwarded = self._deps.forwarded_headers(self._request(), self._request_id, who, self._client)
        await self.send({"type": "connection_ack"})
        self._owner.pings.add(self)
        if who.expires_at is not None:
            self._later("expiry", max(0.0, who.expires_at - time.time()), lambda: self._spawn(self._expire()))

    async def _subscribe(self, message: dict[str, Any]) -> None:
        who = self._who
        if who is None:
            await self.close(UNAUTHORIZED, "Unauthorized")
            return
        op_id = message.get("id")
        incoming = _incoming(message.get("payload"))
        if not isinstance(op_id, str) or not op_id or incoming is None:
            await self.close(BAD_REQUEST, "Invalid message received: subscribe needs an id and a payload with a query")
            return
        if op_id in self._operations:
            await self.close(SUBSCRIBER_EXISTS, f"Subscriber for {op_id[:80]} already exists")
            return
        limit = self._limits.max_per_connection
        if limit and len(self._operations) >= limit:
            text = f"At most {limit} operations may run at once on one connection"
            await self._refuse(op_id, [error(text, SUBSCRIPTION_LIMIT_REACHED, limit=limit)])
            return
        try:
            await self._owner.auth.check_rate(who)
        except EdgeRejection as problem:
            await self._refuse(op_id, [error(problem.message, problem.code, **problem.extensions)])
            return
        task = asyncio.get_running_loop().create_task(self._operate(op_id, incoming, who), name=op_id)
        self._operations[op_id] = task
        task.add_done_callback(self._operation_done)  # a bound method: no closure kept per operation

    def _operation_done(self, done: asyncio.Task[None]) -> None:
        op_id = done.get_name()
        if self._operations.get(op_id) is done:
            del self._operations[op_id]

    async def _refuse(self, op_id: str, errors: list[dict[str, Any]]) -> None:
        await self.send({"id": op_id, "type": "error", "payload": errors})

    async def _complete(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        if not isinstance(op_id, str):
            await self.close(BAD_REQUEST, "Invalid message received: complete needs an id")
            return
        task = self._operations.pop(op_id, None)
        if task is not None:
            task.cancel()  # the client stopped listening: nothing more is sent for it

    # -- one operation ------------------------------------------------------------------------------------------
    async def _operate(self, op_id: str, incoming: Incoming, who: Authenticated) -> None:
        deps = self._deps
        try:
            loaded = self._owner.state.current
            if loaded is None:
                text = "No supergraph is loaded yet"
                await self._refuse(op_id, [error(text, "SERVICE_UNAVAILABLE")])
                return
            try:
                resolved = await deps.persisted.resolve(incoming)
            except PersistedProblem as problem:
                await self._refuse(op_id, [error(problem.message, problem.code)])
                return
            opened = await deps.subscriptions.open(resolved.request, principal=who.principal, headers=self._forwarded)
            if isinstance(opened, SubscriptionRejected):
                codes = {(e.get("extensions") or {}).get("code") for e in opened.errors}
                if codes != {OPERATION_NOT_ALLOWED}:
                    await self._refuse(op_id, list(opened.errors))
                    return
                # a query or mutation: one result through the HTTP endpoint's path
                request = self._request()
                body = await deps.run_one(incoming, request, self._request_id, loaded.runtime, who, self._client)
                await self.send({"id": op_id, "type": "next", "payload": body})
            else:
                prefix, frames = next_prefix(op_id), self._owner.frames
                try:
                    async for event in opened:
                        await self.send_text(frames.frame(prefix, event))
                        if event.final:
                            break
                finally:
                    await opened.aclose()
            await self.send({"id": op_id, "type": "complete"})
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("websocket operation %s on %s failed", op_id, self._request_id)
            text = "Internal server error"
            await self._refuse(op_id, [error(text, "INTERNAL_SERVER_ERROR")])

    def _request(self) -> Request:
        """The upgrade request with this connection's credentials, as the HTTP endpoint wants it."""
        return _request_for(self._ws, self._auth_headers)

    # -- timers (loop callbacks) ---------------------------------------------------------------------------------
    def _init_timed_out(self) -> None:
        if not self._init_seen:
            self._spawn(self.close(INIT_TIMEOUT, "Connection initialisation timeout"))

    def _lifetime_over(self) -> None:
        # closed, not completed: graphql-ws clients reconnect and resubscribe
        self._spawn(self.close(GOING_AWAY, "Connection lifetime exceeded; reconnect"))

    def ping(self) -> None:
        """The owner's PingClock: write a ping now (a task only when the socket cannot take it)."""
        if not self._closed:
            waiting = start_eagerly(self.send_text('{"type":"ping"}'))
            if waiting is not None:
                self._spawn(waiting)

    async def _expire(self) -> None:
        """The token's exp: each operation ends with UNAUTHENTICATED and complete, then the socket (4403)."""
        running, self._operations = self._operations, {}
        for task in running.values():
            task.cancel()
        for op_id, task in running.items():
            with contextlib.suppress(BaseException):
                await task
            ended = {"errors": [error(TOKEN_EXPIRED_MESSAGE, UNAUTHENTICATED)]}
            await self.send({"id": op_id, "type": "next", "payload": ended})
            await self.send({"id": op_id, "type": "complete"})
        await self.close(FORBIDDEN, "Forbidden: the token expired")


def _auth_headers(upgrade: Mapping[str, str], payload: Mapping[str, Any]) -> dict[str, str] | None:
    """authorization, x-tenant-id and x-request-id: from the payload (any case), else the upgrade request.

    None when the payload gives one of them as something other than a string.
    """
    headers: dict[str, str] = {}
    for name in _PAYLOAD_HEADERS:
        given = upgrade.get(name)
        if given is not None:
            headers[_PAYLOAD_HEADERS[name]] = given
    for key, value in payload.items():
        header = _PAYLOAD_HEADERS.get(key.lower()) if isinstance(key, str) else None
        if header is None:
            continue
        if not isinstance(value, str):
            return None
        headers[header] = value
    return headers


def _request_for(websocket: WebSocket, auth_headers: Mapping[str, str]) -> Request:
    """A POST request carrying the upgrade request's headers with the connection's credentials:
    what the endpoint forwards to subgraphs and runs queries and mutations with."""
    replaced = {name.encode("latin-1") for name in _PAYLOAD_HEADERS.values()}
    raw = [(name, value) for name, value in websocket.scope.get("headers", []) if name.lower() not in replaced]
    raw += [(name.encode("latin-1"), value.encode("latin-1", "replace")) for name, value in auth_headers.items()]
    scope = {
        "type": "http",
        "method": "POST",
        "path": websocket.scope.get("path", "/graphql"),
        "query_string": b"",
        "headers": raw,
        "client": websocket.scope.get("client"),
        "server": websocket.scope.get("server"),
        "scheme": "http",
    }
    return Request(scope)


def _incoming(payload: Any) -> Incoming | None:
    """The operation of a subscribe payload, or None when its fields have the wrong types."""
    if not isinstance(payload, dict):
        return None
    query = payload.get("query")
    variables = payload.get("variables")
    name = payload.get("operationName")
    extensions = payload.get("extensions")
    if not (query is None or isinstance(query, str)) or not (variables is None or isinstance(variables, dict)):
        return None
    if not (name is None or isinstance(name, str)) or not (extensions is None or isinstance(extensions, dict)):
        return None
    if not query and not (extensions and "persistedQuery" in extensions):
        return None
    return Incoming(query=query or None, variables=variables, operation_name=name or None, extensions=extensions)
