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
offer accepted and then closed with 4406 by the edge) answered from the request uvicorn parsed,
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
import base64
import binascii
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.utils import accept_key

from gateway.http.streams import WS_PROTOCOL
from gateway.http.ws import GraphQLWebSocket
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

__all__ = ["GatewayApp", "GatewayWebSocketProtocol", "websocket_protocol"]

# _FAILED: a protocol error was answered with a close frame; what the client still sends is not read as frames
_HANDSHAKE, _OPEN, _CLOSING, _CLOSED, _HANDED_OVER, _FAILED = 0, 1, 2, 3, 4, 5
_CLOSE_TIMEOUT = 10.0  # seconds to wait for the client's close echo
_uvicorn_logger = logging.getLogger("uvicorn.error")


class GatewayApp(Starlette):
    """The gateway's Starlette app; a WebSocket on ``websocket_path`` skips Starlette's stack.

    Nothing of that stack acts on this socket: the error middleware passes non-HTTP scopes through,
    the handler catches its own failures and closes the socket itself (through Starlette every open
    socket kept five more coroutine frames and two ``send`` wrappers, ~5 KB per idle subscriber).
    Under ``gateway serve`` the socket does not reach the app at all (:class:`GatewayWebSocketProtocol`).
    """

    websocket_path = "/graphql"
    websocket_handler: Callable[[Scope, Receive, Send], Coroutine[Any, Any, None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # a coroutine function (uvicorn tells ASGI 3 apps by that)
        handler = self.websocket_handler
        if handler is not None and scope["type"] == "websocket":
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path == self.websocket_path:
                scope["app"] = self
                await handler(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class _Server:
    """What every connection of one uvicorn server shares (one per config)."""

    __slots__ = ("app", "config", "last_frame", "last_text", "max_size", "owner", "proxy", "state")

    def __init__(self, config: Any, state: Any, app: GatewayApp, owner: GraphQLWebSocket, proxy: Any) -> None:
        self.config = config
        self.state = state
        self.app = app
        self.owner = owner
        self.proxy = proxy  # the ProxyHeadersMiddleware uvicorn put in front of the app, if any
        self.max_size = int(config.ws_max_size or 0)
        self.last_text = ""  # the last text message encoded, by identity (a fan-out writes it to everyone)
        self.last_frame = b""

    def frame(self, text: str) -> bytes:
        if text is not self.last_text:
            self.last_frame = encode(TEXT, text.encode("utf-8"))
            self.last_text = text
        return self.last_frame


def _server_of(config: Any, server_state: Any) -> _Server | None:
    """The shared part of ``config``'s connections, or None when its app is not a GatewayApp with a handler."""
    cached = config.__dict__.get("_gateway_ws_server")
    if cached is not None and cached.state is server_state:
        return cached  # type: ignore[no-any-return]
    app, proxy = config.loaded_app, None
    if isinstance(app, ProxyHeadersMiddleware):
        proxy, app = app, app.app
    handler = getattr(app, "websocket_handler", None)
    owner = getattr(handler, "__self__", None)
    if not isinstance(app, GatewayApp) or not isinstance(owner, GraphQLWebSocket):
        return None
    server = _Server(config, server_state, app, owner, proxy)
    config.__dict__["_gateway_ws_server"] = server
    return server


def websocket_protocol(
    config: Any, server_state: Any, app_state: dict[str, Any], _loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Protocol:
    """uvicorn's ``ws`` protocol factory (gateway/serve.py): :class:`GatewayWebSocketProtocol` for a
    GatewayApp, uvicorn's sans-I/O protocol for any other app."""
    if not config.loaded:
        config.load()  # pragma: no cover - uvicorn loads it before serving
    server = _server_of(config, server_state)
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

    def __init__(self, server: _Server, app_state: dict[str, Any]) -> None:
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
        lines = self._head.split(b"\r\n")
        target = lines[0].split(b" ")[1]
        raw_path, _, query = target.partition(b"?")
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(b":")
                headers.append((name.strip().lower(), value.strip()))
        transport, root = self.transport, self._server.config.root_path
        peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "wss" if transport.get_extra_info("sslcontext") else "ws",
            "server": (str(local[0]), int(local[1])) if isinstance(local, tuple) else None,
            "client": (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None,
            "root_path": root,
            "path": root + unquote(raw_path.decode("latin-1")),
            "raw_path": root.encode("ascii") + raw_path,
            "query_string": query,
            "headers": headers,
            "subprotocols": _offered(headers),
            "state": self._app_state.copy(),
        }
        if self._server.proxy is not None:
            _apply_proxy_headers(self._server.proxy, scope)
        return scope

    # -- the handshake ------------------------------------------------------------------------------------------
    def _handshake(self, data: bytes) -> None:
        head = self._head + data
        if b"\r\n\r\n" not in head:
            self._head = head  # uvicorn hands the whole head at once; a split one is waited for
            return
        head, _, rest = head.partition(b"\r\n\r\n")
        accept_key = self._accept_key(head)
        if accept_key is None:
            self._hand_over(head + b"\r\n\r\n" + rest)
            return
        self._head = head
        scope = self.scope()
        offered = scope["subprotocols"]
        chosen = WS_PROTOCOL if WS_PROTOCOL in offered else (offered[0] if offered else None)
        response = [
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
            accept_key,
            b"\r\n",
        ]
        if chosen:
            response += [b"Sec-WebSocket-Protocol: ", chosen.encode("latin-1"), b"\r\n"]
        for name, value in self._server.state.default_headers:
            response += [name, b": ", value, b"\r\n"]
        response.append(b"\r\n")
        self.transport.write(b"".join(response))
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

    def _accept_key(self, head: bytes) -> bytes | None:
        """Sec-WebSocket-Accept for a valid upgrade of the app's WebSocket path, else None."""
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3 or parts[0] != b"GET":
            return None
        raw_path = parts[1].partition(b"?")[0]
        if unquote(raw_path.decode("latin-1")) != self._server.app.websocket_path:
            return None
        key = version = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"sec-websocket-key":
                key = None if key is not None else value.strip()  # two keys: not ours to judge
            elif name == b"sec-websocket-version":
                version = value.strip()
        if key is None or version != b"13":
            return None
        try:
            if len(base64.b64decode(key, validate=True)) != 16:
                return None
        except binascii.Error:
            return None
        return accept_key(key.decode("ascii")).encode("ascii")  # RFC 6455 4.2.2

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


def _offered(headers: list[tuple[bytes, bytes]]) -> list[str]:
    offered: list[str] = []
    for name, value in headers:
        if name == b"sec-websocket-protocol":
            offered += [token.strip() for token in value.decode("latin-1").split(",") if token.strip()]
    return offered


def _apply_proxy_headers(proxy: ProxyHeadersMiddleware, scope: dict[str, Any]) -> None:
    """What uvicorn's ProxyHeadersMiddleware does to a websocket scope (client and scheme from a trusted proxy)."""
    client = scope.get("client")
    if (client[0] if client else None) not in proxy.trusted_hosts:
        return
    proto: bytes | None = None
    forwarded_for: list[bytes] = []
    for name, value in scope["headers"]:
        if name == b"x-forwarded-proto":
            proto = value
        elif name == b"x-forwarded-for":
            forwarded_for.append(value)
    if proto is not None:
        scheme = proto.decode("latin1").strip()
        if scheme in {"http", "https", "ws", "wss"}:
            scope["scheme"] = scheme.replace("http", "ws")
    if forwarded_for:
        host, port = proxy.trusted_hosts.get_trusted_client_address(b", ".join(forwarded_for).decode("latin1"))
        if host:
            scope["client"] = (host, port)
