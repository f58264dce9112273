"""Connection guards of ``gateway serve``: header and body read timeouts, header size, connection cap.

uvicorn (0.54, httptools parser) offers a keep-alive timeout between requests and
``limit_concurrency``, but nothing bounds the time a client may take to send a request's
headers or its declared body, nor the size of the headers (httptools buffers a header
that never ends; only h11 has ``h11_max_incomplete_event_size``). A client that opens a
connection and sends half a request line holds a socket and a protocol object forever.

Where the guard sits, and why there: an ASGI middleware only runs once the headers are
complete, so it cannot see a stalled request line or header block at all; wrapping the
listening socket would have to parse HTTP a second time. uvicorn accepts a protocol
class for ``Config(http=...)`` and calls its ``connection_made`` / ``data_received`` and
the parser callbacks (``on_message_begin``, ``on_headers_complete``,
``on_message_complete``) in the event loop, so :class:`GuardedHttpToolsProtocol`
subclasses uvicorn's own ``HttpToolsProtocol`` and adds one ``loop.call_later`` timer per
connection (cheap: no task, no polling), plus a byte count while headers are incomplete:

- header timeout: armed when the connection is made and when a later request on a
  keep-alive connection begins; cancelled when the headers are complete. On expiry the
  client gets ``408`` (when it had sent anything) and the connection is closed.
- body timeout: armed when the headers are complete, cancelled when the whole body has
  arrived (a request without body completes at once). On expiry, ``408`` when no
  response was started, and the connection is closed; the application sees a disconnect.
- header size: bytes received while headers are incomplete are counted (a header that
  never ends is refused after ``max_header_bytes`` plus at most one socket read), and the
  parsed request line and headers are summed when complete; over the limit the client
  gets ``431`` with a GraphQL error and the connection is closed.
- connection cap: when the headers of a request are complete on a process that has more
  than ``max_connections`` open connections (idle and stalled ones included), the request
  is answered ``503`` with a GraphQL error and ``connection: close``, which frees the slot.
  uvicorn's own ``limit_concurrency`` does the same count but answers plain text; it is
  left off.

Graceful shutdown: uvicorn's HTTP protocol only stops keep-alive when the server stops, so an
open streaming response (graphql-sse, multipart subscriptions) would hold the shutdown for the
whole ``shutdown_timeout``. A streaming response puts a callback into its ASGI scope under
:data:`STREAM_SHUTDOWN`; :meth:`GuardedHttpToolsProtocol.shutdown` calls it, and the response
ends at once with a last message (gateway/http/streams.py). WebSockets end on their own (1012).

The refusals are GraphQL errors with stable codes (``REQUEST_TIMEOUT``,
``REQUEST_HEADER_FIELDS_TOO_LARGE``, ``SERVICE_UNAVAILABLE``) with a correlation id in ``x-request-id``
and ``extensions.requestId`` like every other error (the client's when the request got that far and it
is tame, a new one otherwise; gateway/http/correlation.py), counted by code in the app's
``gateway_errors_total`` (the telemetry ``gateway serve`` puts in ``app.state.telemetry``; a closed
silent connection counts as ``REQUEST_TIMEOUT`` too) and logged on ``gateway.guards`` at debug level
(an attack would flood a warning log).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.http.correlation import REQUEST_ID_EXTENSION, REQUEST_ID_HEADER, request_id_from

logger = logging.getLogger("gateway.guards")

# ASGI scope key: a zero-argument callback a streaming response registers; called when the server stops
STREAM_SHUTDOWN = "gateway.stream_shutdown"

_REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


@dataclass(frozen=True, slots=True)
class ConnectionGuards:
    """Limits applied to every client connection; 0 turns a timeout or the header limit off."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_bytes: int = 32_768
    max_connections: int = 1_000


def default_max_connections() -> int:
    """A connection cap sized for this process: half the file descriptors it may open, at most 10,000.

    Each client connection holds one descriptor; the other half is left for subgraph
    connection pools, Redis, logs and the listening sockets.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(64, min(10_000, soft // 2))


class GuardedConfig(uvicorn.Config):
    """A uvicorn config that carries the guards and serves with :class:`GuardedHttpToolsProtocol`."""

    def __init__(self, app: Any, *, guards: ConnectionGuards, **kwargs: Any) -> None:
        super().__init__(app, http=GuardedHttpToolsProtocol, **kwargs)
        self.guards = guards
        self.count_refusal: Callable[[str], None] = _ignore

    def load(self) -> None:
        """Load the app (in a worker process too), then find its telemetry through uvicorn's middleware."""
        super().load()
        app: Any = self.loaded_app
        for _ in range(8):  # ProxyHeaders / message logger middleware keep the wrapped app in ``.app``
            telemetry = getattr(getattr(app, "state", None), "telemetry", None)
            if telemetry is not None:
                self.count_refusal = _counter(telemetry.metrics.errors)
                return
            app = getattr(app, "app", None)
            if app is None:
                return


def _ignore(code: str) -> None:
    return None


def _counter(errors: Any) -> Callable[[str], None]:
    def count(code: str) -> None:
        errors.labels(code).inc()

    return count


def _error_body(message: str, code: str, request_id: str) -> bytes:
    error = {"message": message, "extensions": {"code": code, REQUEST_ID_EXTENSION: request_id}}
    return orjson.dumps({"errors": [error]})


def _raw_response(status: int, message: str, code: str) -> bytes:
    # Written before (or instead of) a parsed request: the id is a new one, told in the header and the body.
    request_id = request_id_from(None)
    body = _error_body(message, code, request_id)
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            b"content-type: application/json; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"%s: %s\r\n" % (REQUEST_ID_HEADER.encode(), request_id.encode()),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


def _refusal_app(status: int, message: str, code: str) -> Any:
    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        offered = next((value for name, value in scope["headers"] if name == _REQUEST_ID_BYTES), b"")
        request_id = request_id_from(offered.decode("latin-1"))
        body = _error_body(message, code, request_id)
        headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (_REQUEST_ID_BYTES, request_id.encode()),
            (b"connection", b"close"),
        ]
        if status == 503:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return refuse


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the :class:`ConnectionGuards` of the config (see the module)."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._guards: ConnectionGuards = getattr(config, "guards", None) or ConnectionGuards()
        self.limit_concurrency = None  # the cap is ours (GraphQL answer), not uvicorn's plain-text 503
        self._timer: asyncio.TimerHandle | None = None
        self._in_headers = True
        self._header_bytes = 0  # raw bytes received while the headers are incomplete

    # -- timers -------------------------------------------------------------------------------------------------
    def _arm(self, seconds: float, expired: Any) -> None:
        self._disarm()
        if seconds > 0:
            self._timer = self.loop.call_later(seconds, expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _count(self, code: str) -> None:
        count = getattr(self.config, "count_refusal", None)
        if count is not None:
            count(code)

    def _close_with(self, status: int | None, message: str, code: str, *, counted_by_app: bool = False) -> None:
        if self.transport.is_closing():
            return
        logger.debug("closing connection from %s: %s", self.client, message)
        if not counted_by_app:
            self._count(code)
        if status is not None:
            self.transport.write(_raw_response(status, message, code))
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the application's later writes go nowhere
            self.cycle.message_event.set()
        self.transport.close()

    def _header_timeout_expired(self) -> None:
        self._timer = None
        started = self._header_bytes > 0
        self._close_with(408 if started else None, "The request headers did not arrive in time", "REQUEST_TIMEOUT")

    def _body_timeout_expired(self) -> None:
        self._timer = None
        answered = self.cycle is not None and self.cycle.response_started
        # An application still reading the body sees the disconnect and counts its own REQUEST_TIMEOUT.
        self._close_with(
            None if answered else 408,
            "The request body did not arrive in time",
            "REQUEST_TIMEOUT",
            counted_by_app=self.cycle is not None and not answered,
        )

    # -- uvicorn protocol hooks ---------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._guards.header_timeout, self._header_timeout_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        limit = self._guards.max_header_bytes
        if self._in_headers and limit and self._header_bytes > limit:
            self._close_with(431, f"The request headers exceed {limit} bytes", "REQUEST_HEADER_FIELDS_TOO_LARGE")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        if self._timer is None:  # a keep-alive connection's next request: its own deadline
            self._arm(self._guards.header_timeout, self._header_timeout_expired)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._header_bytes = 0
        self._arm(self._guards.body_timeout, self._body_timeout_expired)
        limit = self._guards.max_header_bytes
        refusal = None
        # The parsed request line and header fields (no per-header hook: the parser calls that one a lot).
        too_large = limit and len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers) > limit
        if too_large:
            refusal = _refusal_app(431, f"The request headers exceed {limit} bytes", "REQUEST_HEADER_FIELDS_TOO_LARGE")
        elif len(self.connections) > self._guards.max_connections > 0:
            logger.debug("connection cap %d reached: refusing %s", self._guards.max_connections, self.client)
            refusal = _refusal_app(503, "The gateway is at its connection limit; retry shortly", "SERVICE_UNAVAILABLE")
        if refusal is None:
            super().on_headers_complete()
            return
        self._count("REQUEST_HEADER_FIELDS_TOO_LARGE" if too_large else "SERVICE_UNAVAILABLE")
        app, self.app = self.app, refusal
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def shutdown(self) -> None:
        """The server stops: a streaming response still running is told to end now (see the module)."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            stop = cycle.scope.get(STREAM_SHUTDOWN)  # type: ignore[misc]
            if callable(stop):
                stop()
        super().shutdown()

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_headers = True  # whatever arrives next belongs to the next request's headers
        self._header_bytes = 0
        super().on_message_complete()
