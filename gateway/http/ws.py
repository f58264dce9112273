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
gets ``RATE_LIMITED``. A client that leaves its messages unread for ``subscriptions.send_timeout``
seconds is dropped; meanwhile its subscriptions' events wait in their bounded queues
(gateway/subscriptions/subscriber.py: the oldest are dropped, or the subscriber is disconnected).

Memory per idle subscriber is what this module is shaped by (thousands of sockets stay open for
hours): a :class:`_Connection` is driven by callbacks from its socket (``received``, ``drained``,
``gone``), holds no task while idle, and each running subscription is a :class:`Operation` that
the subscriber hands its events to (:meth:`Subscriber.listen`, a direct write per event). Tasks run
only while something is awaited (``connection_init``'s authentication, opening an operation). Pings,
the init timeout, the connection's lifetime and its token's expiry are process-level timers
(gateway/http/ws_send.py). Two sockets drive it: ``gateway serve``'s own WebSocket protocol
(gateway/http/ws_protocol.py) and, under any other ASGI server, :meth:`GraphQLWebSocket.handle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from gateway.auth.stage import UNAUTHENTICATED, Authenticated, AuthStage, EdgeRejection
from gateway.http.correlation import REQUEST_ID_HEADER, errors_with_id, request_id_from, with_request_id
from gateway.http.state import GatewayState
from gateway.http.streams import TOKEN_EXPIRED_MESSAGE, WS_PROTOCOL, StreamDeps, error
from gateway.http.ws_asgi import AsgiSocket
from gateway.http.ws_operation import Operation
from gateway.http.ws_request import auth_headers, request_for
from gateway.http.ws_request import incoming as incoming_operation
from gateway.http.ws_send import Deadlines, NextFrames, PingClock, SendWatch
from gateway.persisted import Incoming, PersistedProblem
from gateway.subscriptions.messages import (
    OPERATION_NOT_ALLOWED,
    SUBSCRIPTION_LIMIT_REACHED,
    SubscriptionMessage,
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
INTERNAL_ERROR = 1011
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013

_PING = '{"type":"ping"}'


class Socket(Protocol):
    """What a :class:`_Connection` needs of its WebSocket (accepted with ``graphql-transport-ws``)."""

    writable: bool  # False while the client leaves written messages unread (then ``drained`` follows)

    def write(self, text: str) -> None:
        """Send one text message after those written before (never waits: the socket buffers)."""

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake; ``gone`` follows."""

    def abort(self) -> None:
        """Drop the client now (it stopped reading); ``gone`` follows."""

    def pause_reading(self) -> None:
        """Stop handing over messages until :meth:`resume_reading` (one is being handled)."""

    def resume_reading(self) -> None: ...

    def scope(self) -> Scope:
        """The upgrade request as an ASGI websocket scope (path, headers, client, server)."""


class GraphQLWebSocket:
    """The WebSocket side of ``/graphql`` (see the module docstring): one per app, shared by its sockets."""

    def __init__(self, deps: StreamDeps, state: GatewayState, auth: AuthStage) -> None:
        self.deps = deps
        self.state = state
        self.auth = auth
        self.frames = NextFrames()  # each event's payload encoded once for all its subscribers
        self.watch = SendWatch(deps.limits.send_timeout)  # one timer for every connection's stalled writes
        self.pings = PingClock(deps.limits.ping_interval)  # one timer pings every connection
        # one timer per kind of deadline, for every connection
        self.init_deadlines = Deadlines(_Connection.init_timed_out)
        self.lifetimes = Deadlines(_Connection.lifetime_over)
        self.expiries = Deadlines(_Connection.token_expired)

    def connect(self, socket: Socket, client: str) -> _Connection:
        """A new connection on ``socket`` (accepted with ``graphql-transport-ws``), started."""
        conn = _Connection(self, socket, client)
        conn.start()
        return conn

    def asgi(self, scope: Scope, receive: Receive, send: Send) -> Coroutine[Any, Any, None]:
        """The raw ASGI entry (gateway/http/ws_protocol.py GatewayApp): :meth:`handle`'s coroutine itself."""
        return self.handle(WebSocket(scope, receive, send))

    async def handle(self, websocket: WebSocket) -> None:
        """Serve one socket through ASGI until either side closes it (any ASGI server)."""
        offered = list(websocket.scope.get("subprotocols") or ())
        if WS_PROTOCOL not in offered:
            # The close code needs an open socket: accept, then close with the reason.
            await websocket.accept(subprotocol=offered[0] if offered else None)
            with contextlib.suppress(Exception):
                await websocket.close(SUBPROTOCOL_NOT_ACCEPTABLE, f"Subprotocol not acceptable: use {WS_PROTOCOL}")
            return
        await websocket.accept(subprotocol=WS_PROTOCOL)
        socket = AsgiSocket(websocket, self.deps.limits.send_timeout)
        conn = self.connect(socket, websocket.client.host if websocket.client else "unknown")
        await socket.serve(conn)


class _Connection:
    """One acknowledged-or-not graphql-transport-ws connection: its state machine and its operations.

    Methods (more than 15: one per protocol message, timer and output of one state machine, which
    shares its state; split, each piece would reach into the others): the socket's callbacks (start,
    received, drained, gone), the message handlers (_dispatch, _init, _subscribe, _complete,
    _operate), the timers (init_timed_out, lifetime_over, token_expired, ping, too_slow) and the
    outputs (write, send, refuse, next, close, _end).
    """

    __slots__ = tuple(
        "_auth_headers _busy _client _closed _inbox _init_seen _operations _owner _request_id _socket _waiters"
        " _who writing writing_since".split()
    )

    def __init__(self, owner: GraphQLWebSocket, socket: Socket, client: str) -> None:
        self._owner = owner
        self._socket = socket
        self._client = client
        self._who: Authenticated | None = None
        self._auth_headers: dict[str, str] | None = None
        self._request_id = ""
        self._init_seen = False
        self._closed = False
        self._operations: dict[str, Operation] | None = None
        self._busy: asyncio.Task[None] | None = None  # connection_init being authenticated
        self._inbox: list[str] | None = None  # messages that arrived meanwhile (reading is paused)
        self._waiters: list[asyncio.Future[None]] | None = None  # operations waiting for the socket
        self.writing = 0  # the owner's SendWatch: 1 while the client leaves writes unread, since when
        self.writing_since = 0.0

    # -- the socket's callbacks ---------------------------------------------------------------------------------
    def start(self) -> None:
        limits = self._owner.deps.limits
        self._owner.deps.connections.labels(WS_PROTOCOL).inc()
        if limits.init_timeout > 0:
            self._owner.init_deadlines.add(self, limits.init_timeout)
        if limits.max_connection_lifetime > 0:
            self._owner.lifetimes.add(self, limits.max_connection_lifetime)

    def received(self, text: str) -> None:
        """One text message from the client (in order: held while ``connection_init`` is authenticated)."""
        if self._closed:
            return
        if self._busy is not None:
            if self._inbox is None:
                self._inbox = []
            self._inbox.append(text)
            return
        try:
            self._dispatch(text)
        except Exception:
            logger.exception("websocket message on %s failed", self._request_id or self._client)
            self.close(INTERNAL_ERROR, "Internal server error")

    def received_bytes(self, data: bytes) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.close(BAD_REQUEST, "Invalid message received")
            return
        self.received(text)

    def drained(self) -> None:
        """The client took what was written: the operations' queued events go on."""
        if self.writing:
            self._owner.watch.end(self)
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)
        for operation in list((self._operations or {}).values()):
            if not self._socket.writable:
                return
            operation.resume()

    def stalled(self) -> None:
        """The client leaves writes unread: the owner's SendWatch drops it after the send timeout."""
        if not self.writing and not self._closed:
            self._owner.watch.begin(self)

    def gone(self) -> None:
        """The socket is closed (either side): everything of the connection ends."""
        if self.writing:
            self._owner.watch.end(self)
        if self._closed and self._operations is None and self._busy is None:
            return
        self._end(None)

    # -- outputs ------------------------------------------------------------------------------------------------
    def write(self, text: str) -> None:
        if not self._closed:
            self._socket.write(text)
            if not self._socket.writable:
                self.stalled()

    def send(self, message: Mapping[str, Any]) -> None:
        self.write(orjson.dumps(message).decode("utf-8"))

    def refuse(self, op_id: str, errors: list[dict[str, Any]]) -> None:
        """An ``error`` message (every refusal of an operation goes through here): each error carries
        the connection's request id (gateway/http/correlation.py)."""
        self.send({"id": op_id, "type": "error", "payload": errors_with_id(errors, self._request_id)})

    def next(self, op_id: str, message: SubscriptionMessage) -> None:
        """A ``next`` message (every one goes through here); an event's encoding is shared by its subscribers.
        A payload with errors is encoded for this connection alone, its errors with the connection's request id."""
        payload = with_request_id(message.payload, self._request_id)
        if payload is not message.payload:
            message = SubscriptionMessage(payload, message.event_id, message.final)
        self.write(self._owner.frames.for_operation(op_id, message))

    def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` (``reason`` cut to the 123 bytes a close frame holds)."""
        if self._closed:
            return
        self._end(None)
        self._socket.close(code, reason.encode("utf-8")[:123].decode("utf-8", "ignore"))

    def _end(self, _: object) -> None:
        """Stop every operation, timer and wait of the connection (it is closing or gone)."""
        first = not self._closed
        self._closed = True
        owner = self._owner
        if first:
            owner.deps.connections.labels(WS_PROTOCOL).dec()
        owner.pings.discard(self)
        owner.init_deadlines.discard(self)
        owner.lifetimes.discard(self)
        owner.expiries.discard(self)
        operations, self._operations = self._operations, None
        for operation in (operations or {}).values():
            operation.stop()
        busy, self._busy = self._busy, None
        if busy is not None and busy is not asyncio.current_task():
            busy.cancel()
        self._inbox = None
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            waiter.cancel()

    async def writable(self) -> None:
        """Wait until the socket takes writes (an operation whose stream is iterated)."""
        while not self._socket.writable and not self._closed:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            await waiter

    # -- messages from the client -------------------------------------------------------------------------------
    def _dispatch(self, text: str) -> None:
        limit = self._owner.deps.limits.max_frame_bytes
        if limit and len(text) * 4 > limit and len(text.encode("utf-8")) > limit:
            self.close(MESSAGE_TOO_BIG, f"Message too big: the limit is {limit} bytes")
            return
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.close(BAD_REQUEST, "Invalid message received: not JSON")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "connection_init":
            self._init(message)
        elif kind == "ping":
            self.send({"type": "pong", **({"payload": message["payload"]} if "payload" in message else {})})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            self._subscribe(message)
        elif kind == "complete":
            self._complete(message)
        elif isinstance(kind, str):
            self.close(BAD_REQUEST, f"Invalid message received: unknown type {kind[:40]!r}")
        else:
            self.close(BAD_REQUEST, "Invalid message received: no type")

    def _init(self, message: dict[str, Any]) -> None:
        if self._init_seen:
            self.close(TOO_MANY_INIT, "Too many initialisation requests")
            return
        self._init_seen = True
        self._owner.init_deadlines.discard(self)
        payload = message.get("payload")
        headers = auth_headers(Headers(scope=self._socket.scope()), payload if isinstance(payload, dict) else {})
        if (payload is not None and not isinstance(payload, dict)) or headers is None:
            self.close(BAD_REQUEST, "Invalid message received: connection_init payload")
            return
        self._socket.pause_reading()
        self._busy = asyncio.get_running_loop().create_task(self._authenticate(headers))
        self._busy.add_done_callback(self._authenticated)

    async def _authenticate(self, headers: dict[str, str]) -> None:
        loaded = self._owner.state.current
        policies = getattr(loaded.runtime, "policy_names", ()) if loaded is not None else ()
        try:
            who = await self._owner.auth.authenticate(headers, self._client, policies)
        except EdgeRejection as problem:
            if problem.status == 503:
                self.close(TRY_AGAIN_LATER, "Try again later: authentication is unavailable")
            else:
                self.close(FORBIDDEN, f"Forbidden: {problem.message}")
            return
        self._request_id = request_id_from(headers.get(REQUEST_ID_HEADER))
        self._who = who
        self._auth_headers = headers
        self.send({"type": "connection_ack"})
        self._owner.pings.add(self)
        if who.expires_at is not None:
            self._owner.expiries.add(self, max(0.0, who.expires_at - time.time()))

    def _authenticated(self, task: asyncio.Task[None]) -> None:
        if self._busy is task:
            self._busy = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("websocket connection_init on %s failed", self._client, exc_info=task.exception())
            self.close(INTERNAL_ERROR, "Internal server error")
        inbox, self._inbox = self._inbox, None
        for text in inbox or ():
            self.received(text)  # a second connection_init waits again: the rest stays in order
        if not self._closed and self._busy is None:
            self._socket.resume_reading()

    def _subscribe(self, message: dict[str, Any]) -> None:
        who = self._who
        if who is None:
            self.close(UNAUTHORIZED, "Unauthorized")
            return
        op_id = message.get("id")
        incoming = incoming_operation(message.get("payload"))
        if not isinstance(op_id, str) or not op_id or incoming is None:
            self.close(BAD_REQUEST, "Invalid message received: subscribe needs an id and a payload with a query")
            return
        operations = self._operations
        if operations is None:
            operations = self._operations = {}
        if op_id in operations:
            self.close(SUBSCRIBER_EXISTS, f"Subscriber for {op_id[:80]} already exists")
            return
        limit = self._owner.deps.limits.max_per_connection
        if limit and len(operations) >= limit:
            text = f"At most {limit} operations may run at once on one connection"
            self.refuse(op_id, [error(text, SUBSCRIPTION_LIMIT_REACHED, limit=limit)])
            return
        operation = operations[op_id] = Operation(self, op_id)
        operation.task = asyncio.get_running_loop().create_task(self._operate(operation, incoming, who), name=op_id)
        operation.task.add_done_callback(operation.opened)

    def _complete(self, message: dict[str, Any]) -> None:
        op_id = message.get("id")
        if not isinstance(op_id, str):
            self.close(BAD_REQUEST, "Invalid message received: complete needs an id")
            return
        operation = (self._operations or {}).pop(op_id, None)
        if operation is not None:
            operation.stop()  # the client stopped listening: nothing more is sent for it

    def finished(self, operation: Operation) -> None:
        """``operation`` ended: it no longer counts against the connection's limit."""
        operations = self._operations
        if operations is not None and operations.get(operation.op_id) is operation:
            del operations[operation.op_id]

    # -- one operation ------------------------------------------------------------------------------------------
    async def _operate(self, operation: Operation, incoming: Incoming, who: Authenticated) -> None:
        """Open ``operation`` (a task); a subscriber of the service is then listened to (the task ends),
        any other stream is iterated here; a query or mutation runs once."""
        owner, op_id = self._owner, operation.op_id
        deps = owner.deps
        try:
            try:
                await owner.auth.check_rate(who)
            except EdgeRejection as problem:
                operation.refuse([error(problem.message, problem.code, **problem.extensions)])
                return
            loaded = owner.state.current
            if loaded is None:
                operation.refuse([error("No supergraph is loaded yet", "SERVICE_UNAVAILABLE")])
                return
            try:
                resolved = await deps.persisted.resolve(incoming)
            except PersistedProblem as problem:
                operation.refuse([error(problem.message, problem.code)])
                return
            request = self._request()
            forwarded = deps.forwarded_headers(request, self._request_id, who, self._client)
            opened = await deps.subscriptions.open(resolved.request, principal=who.principal, headers=forwarded)
            if isinstance(opened, SubscriptionRejected):
                codes = {(e.get("extensions") or {}).get("code") for e in opened.errors}
                if codes != {OPERATION_NOT_ALLOWED}:
                    operation.refuse(list(opened.errors))
                    return
                # a query or mutation: one result through the HTTP endpoint's path
                body = await deps.run_one(incoming, request, self._request_id, loaded.runtime, who, self._client)
                operation.send_next(SubscriptionMessage(body))
                operation.complete()
                return
            listen = getattr(opened, "listen", None)
            if listen is not None:  # the service's Subscriber: it hands each event over as it comes
                operation.stream = opened
                listen(operation)
                return
            try:
                async for event in opened:
                    await self.writable()
                    if not operation.send_next(event) or event.final:
                        break
            finally:
                await opened.aclose()
            operation.complete()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("websocket operation %s on %s failed", op_id, self._request_id)
            operation.refuse([error("Internal server error", "INTERNAL_SERVER_ERROR")])

    def _request(self) -> Request:
        """The upgrade request with this connection's credentials, as the HTTP endpoint wants it."""
        return request_for(self._socket.scope(), self._auth_headers or {})

    # -- timers (the owner's, one per kind for every connection) ------------------------------------------------
    def init_timed_out(self) -> None:
        if not self._init_seen:
            self.close(INIT_TIMEOUT, "Connection initialisation timeout")

    def lifetime_over(self) -> None:
        # closed, not completed: graphql-ws clients reconnect and resubscribe
        self.close(GOING_AWAY, "Connection lifetime exceeded; reconnect")

    def ping(self) -> None:
        """The owner's PingClock."""
        self.write(_PING)

    def too_slow(self) -> None:
        """The owner's SendWatch: the client left a write unread for the send timeout."""
        logger.info(
            "websocket client %s did not read for %s s: dropped", self._client, self._owner.deps.limits.send_timeout
        )
        if not self._closed:
            self._end(None)
        self._socket.abort()

    def token_expired(self) -> None:
        """The token's exp: each operation ends with UNAUTHENTICATED and complete, then the socket (4403)."""
        operations, self._operations = self._operations, None
        ended = SubscriptionMessage({"errors": [error(TOKEN_EXPIRED_MESSAGE, UNAUTHENTICATED)]})
        for operation in (operations or {}).values():
            operation.stop()
            self.next(operation.op_id, ended)
            self.send({"id": operation.op_id, "type": "complete"})
        self.close(FORBIDDEN, "Forbidden: the token expired")
