"""``gateway serve``'s WebSocket protocol: the ``/graphql`` subscription socket, lean per idle connection.

A subscriber's socket stays open for hours doing nothing, so what the server keeps per connection
is most of the gateway's memory per subscriber. uvicorn's WebSocket protocols run the ASGI app in a
task per connection and keep, per socket, the handshake (the websockets ``Request`` and
``Response``: ~5.5 KB of headers), an ``asyncio.Queue`` and ``Event``, the websockets sans-I/O
parser (its generator frames and stream reader) and the ASGI scope (~1.2 KB of header tuples):
~10 KB per idle subscriber before the application's own state (tracemalloc by allocation site,
bench/subscriptions/memtrace.py).

:class:`GatewayWebSocketProtocol` serves a valid upgrade of ``/graphql`` itself: the handshake
(RFC 6455 4.2: version 13, a 16-byte key; ``graphql-transport-ws`` chosen when offered, any other
offer accepted and then closed with 4406 by the edge) answered from the request uvicorn parsed
(gateway/http/ws_handshake.py, which also tells a GatewayApp and holds what the connections share),
then frames read and written by gateway/http/ws_frames.py, each message handed straight to the
edge's connection (gateway/http/ws.py ``_Connection``) by a call, no task, no queue. What stays
per idle connection: this object (``__slots__``), the request head as one ``bytes`` (headers are
parsed again when an operation starts, rarely), the transport, and the edge's connection and
operation records. Anything else (another path, a handshake it does not accept, an app that is
not a :class:`GatewayApp`) goes to uvicorn's own sans-I/O protocol, as before.

Kept from uvicorn: the connection is in ``server_state.connections`` (graceful shutdown closes it
with 1012), the ``[accepted]`` access line, the proxy headers' client address (``forwarded_allow_ips``),
the maximum message size (``ws_max_size``: 1009 before the payload is buffered), flow control
(``pause_writing``: the edge stops handing over events, its SendWatch drops a client that does not
read for ``subscriptions.send_timeout``), pings answered, the closing handshake (10 s for the echo).
No permessage-deflate (its zlib state cost ~40 KB per connection; events are small JSON).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import Scope
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from gateway.http.streams import WS_PROTOCOL
from gateway.http.ws_frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    FrameError,
    close_frame,
    encode,
    parse_close,
    read_frame,
)
from gateway.http.ws_handshake import (
    GatewayApp,
    SharedServer,
    accept_key_for,
    chosen_subprotocol,
    request_scope,
    server_of,
    switching_protocols,
)

__all__ = ["GatewayApp", "GatewayWebSocketProtocol", "websocket_protocol"]

# _FAILED: a protocol error was answered with a close frame; what the client still sends is not read as frames
_HANDSHAKE, _OPEN, _CLOSING, _CLOSED, _HANDED_OVER, _FAILED = 0, 1, 2, 3, 4, 5
_CLOSE_TIMEOUT = 10.0  # seconds to wait for the client's close echo
_uvicorn_logger = logging.getLogger("uvicorn.error")


def websocket_protocol(
    config: Any, server_state: Any, app_state: dict[str, Any], _loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Protocol:
    """uvicorn's ``ws`` protocol factory (gateway/serve.py): :class:`GatewayWebSocketProtocol` for a
    GatewayApp, uvicorn's sans-I/O protocol for any other app."""
    if not config.loaded:
        config.load()  # pragma: no cover - uvicorn loads it before serving
    server = server_of(config, server_state)
    if server is None:
        return WebSocketsSansIOProtocol(config, server_state, app_state, _loop)
    return GatewayWebSocketProtocol(server, app_state)


class GatewayWebSocketProtocol(asyncio.Protocol):
    """One client WebSocket of ``gateway serve`` (see the module docstring); the edge's :class:`Socket`."""

    __slots__ = (
        "_app_state",
        "_buf",
        "_conn",
        "_frag",
        "_head",
        "_server",
        "_state",
        "_timer",
        "transport",
        "writable",
    )

    def __init__(self, server: SharedServer, app_state: dict[str, Any]) -> None:
        self._server = server
        self._app_state = app_state
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self._state = _HANDSHAKE
        self._head = b""
        self._buf = b""
        self._frag: list[Any] | None = None  # a fragmented message: [opcode, size so far, payloads...]
        self._conn: Any = None  # the edge's _Connection (uvicorn's protocol once handed over)
        self._timer: asyncio.TimerHandle | None = None
        self.writable = True

    # -- asyncio.Protocol ---------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._server.state.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._state == _HANDED_OVER:
            self._conn.connection_lost(exc)
            return
        self._server.state.connections.discard(self)
        self._release(_CLOSED)
        self.writable = True
        if exc is None:
            self.transport.close()

    def eof_received(self) -> None:
        if self._state == _HANDED_OVER:
            self._conn.eof_received()
        return None  # the transport closes; connection_lost follows

    def pause_writing(self) -> None:
        self.writable = False
        if self._state == _HANDED_OVER:
            self._conn.pause_writing()
        elif self._conn is not None:
            self._conn.stalled()  # whatever filled the buffer (events, pongs): the send timeout runs

    def resume_writing(self) -> None:
        self.writable = True
        if self._conn is not None:
            if self._state == _HANDED_OVER:
                self._conn.resume_writing()
            else:
                self._conn.drained()

    def shutdown(self) -> None:
        """uvicorn stops: close with 1012 (service restart) at once."""
        if self._state == _OPEN:
            self.transport.write(close_frame(1012, "The gateway is shutting down; reconnect"))
        self._release(_CLOSED)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._state == _HANDSHAKE:
            self._handshake(data)
            return
        if self._state == _HANDED_OVER:
            self._conn.data_received(data)
            return
        if self._state == _FAILED:
            return  # read and dropped, so that the kernel does not reset the connection over unread data
        buf = self._buf + data if self._buf else data
        at, max_size = 0, self._server.max_size
        try:
            while self._state < _CLOSED:
                frame = read_frame(buf, at, max_size)
                if frame is None:
                    break
                opcode, fin, payload, at = frame
                self._frame(opcode, fin, payload)
        except FrameError as problem:
            self._fail(problem.code, problem.reason)
            return
        self._buf = buf[at:] if at < len(buf) else b""

    # -- the edge's Socket --------------------------------------------------------------------------------------
    def write(self, text: str) -> None:
        if self._state == _OPEN:
            self.transport.write(self._server.frame(text))

    def close(self, code: int, reason: str) -> None:
        if self._state != _OPEN:
            return
        self._state = _CLOSING
        self.transport.write(close_frame(code, reason))
        self.transport.resume_reading()  # for the echo
        self._timer = asyncio.get_running_loop().call_later(_CLOSE_TIMEOUT, self.transport.close)

    def abort(self) -> None:
        self._state = _CLOSED
        self.transport.abort()

    def pause_reading(self) -> None:
        if self._state == _OPEN:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._state == _OPEN:
            self.transport.resume_reading()

    def scope(self) -> Scope:
        """The upgrade request as an ASGI scope (built again from the head each time: rarely asked)."""
        return request_scope(self._head, self.transport, self._server, self._app_state)

    # -- the handshake ------------------------------------------------------------------------------------------
    def _handshake(self, data: bytes) -> None:
        head = self._head + data
        if b"\r\n\r\n" not in head:
            self._head = head  # uvicorn hands the whole head at once; a split one is waited for
            return
        head, _, rest = head.partition(b"\r\n\r\n")
        accept = accept_key_for(head, self._server.app.websocket_path)
        if accept is None:
            self._hand_over(head + b"\r\n\r\n" + rest)
            return
        self._head = head
        scope = self.scope()
        offered = scope["subprotocols"]
        chosen = chosen_subprotocol(offered)
        self.transport.write(switching_protocols(accept, chosen, self._server.state.default_headers))
        self._state = _OPEN
        client = scope["client"]
        if _uvicorn_logger.isEnabledFor(logging.INFO):
            where = f"{client[0]}:{client[1]}" if client else ""
            _uvicorn_logger.info('%s - "WebSocket %s" [accepted]', where, scope["path"])
        owner = self._server.owner
        if chosen != WS_PROTOCOL:
            self.close(4406, f"Subprotocol not acceptable: use {WS_PROTOCOL}")
            return
        self._conn = owner.connect(self, client[0] if client else "unknown")
        if rest:
            self.data_received(rest)

    def _hand_over(self, head: bytes) -> None:
        """Not ours: uvicorn's own WebSocket protocol takes the connection, from the request on. The transport
        keeps calling this object (uvicorn's HTTP protocol sets it as the transport's protocol after this
        call), which passes everything on."""
        self._server.state.connections.discard(self)
        self._state = _HANDED_OVER
        self._conn = other = WebSocketsSansIOProtocol(self._server.config, self._server.state, self._app_state)
        other.connection_made(self.transport)
        other.data_received(head)

    # -- frames -------------------------------------------------------------------------------------------------
    def _frame(self, opcode: int, fin: bool, payload: bytes) -> None:
        if opcode >= CLOSE:
            if opcode == PING:
                if self._state == _OPEN:
                    self.transport.write(encode(PONG, payload))
            elif opcode == CLOSE:
                self._closed_by_client(payload)
            return
        frag = self._frag
        if opcode == CONTINUATION:
            if frag is None:
                raise FrameError(1002, "continuation frame without a message")
            frag.append(payload)
            frag[1] += len(payload)
            if self._server.max_size and frag[1] > self._server.max_size:
                raise FrameError(1009, f"Message too big: the limit is {self._server.max_size} bytes")
            if not fin:
                return
            self._frag = None
            opcode, payload = frag[0], b"".join(frag[2:])
        elif frag is not None:
            raise FrameError(1002, "a new message before the fragmented one ended")
        elif not fin:
            self._frag = [opcode, len(payload), payload]
            return
        conn = self._conn
        if conn is None or self._state != _OPEN:
            return  # closing: what the client still sends is discarded
        if opcode == TEXT:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise FrameError(1007, "invalid UTF-8 in a text message") from None
            conn.received(text)
        elif opcode == BINARY:
            conn.received_bytes(payload)

    def _closed_by_client(self, payload: bytes) -> None:
        code, _reason = parse_close(payload)
        if self._state == _OPEN:  # the client closes: echo its code, then the TCP connection ends
            self._state = _CLOSING
            self.transport.write(encode(CLOSE, payload[:2]) if code != 1005 else encode(CLOSE, b""))
        self._release(_CLOSED)
        self.transport.close()

    def _release(self, state: int) -> None:
        """Enter ``state`` (closed, or failed): the close timer stops, the edge's connection ends."""
        self._state = state
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.gone()

    def _fail(self, code: int, reason: str) -> None:
        """The client broke the protocol: a close frame with ``code``, then the end of our side of the TCP
        connection (the client closes its side; unread data is drained meanwhile: closing with data unread
        would reset the connection, and the client might lose the close frame)."""
        was = self._state
        if was not in (_OPEN, _CLOSING) or not self.transport.can_write_eof():
            self._release(_CLOSED)
            self.transport.close()
            return
        if was == _OPEN:
            self.transport.write(close_frame(code, reason))
        self._release(_FAILED)
        self.transport.write_eof()
        self.transport.resume_reading()
        self._timer = asyncio.get_running_loop().call_later(_CLOSE_TIMEOUT, self.transport.close)
