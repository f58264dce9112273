"""The opening handshake of ``gateway serve``'s ``/graphql`` WebSocket (RFC 6455 4.2), and what decides
which connections gateway/http/ws_protocol.py serves itself.

:func:`server_of` tells whether uvicorn's app is a :class:`GatewayApp` with a WebSocket handler (else
uvicorn's own protocol serves every socket); :func:`accept_key_for` whether an upgrade request is a
valid one of the app's WebSocket path (version 13, one 16-byte key) and its ``Sec-WebSocket-Accept``;
:func:`request_scope` the ASGI scope of the upgrade request, built from the request head that
the connection keeps as one ``bytes`` (behind a trusted proxy: the client address and scheme the proxy
headers give, as uvicorn's ProxyHeadersMiddleware would); :func:`switching_protocols` the ``101``
response. Frames, after the handshake, are gateway/http/ws_protocol.py's and gateway/http/ws_frames.py's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Coroutine, Iterable
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from websockets.utils import accept_key

from gateway.http.streams import WS_PROTOCOL
from gateway.http.ws import GraphQLWebSocket
from gateway.http.ws_frames import TEXT, encode

__all__ = [
    "GatewayApp",
    "SharedServer",
    "accept_key_for",
    "chosen_subprotocol",
    "request_scope",
    "server_of",
    "switching_protocols",
]


class GatewayApp(Starlette):
    """The gateway's Starlette app; a WebSocket on ``websocket_path`` skips Starlette's stack.

    Nothing of that stack acts on this socket: the error middleware passes non-HTTP scopes through,
    the handler catches its own failures and closes the socket itself (through Starlette every open
    socket kept five more coroutine frames and two ``send`` wrappers, ~5 KB per idle subscriber).
    Under ``gateway serve`` the socket does not reach the app at all (gateway/http/ws_protocol.py
    ``GatewayWebSocketProtocol``).
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


class SharedServer:
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


def server_of(config: Any, server_state: Any) -> SharedServer | None:
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
    server = SharedServer(config, server_state, app, owner, proxy)
    config.__dict__["_gateway_ws_server"] = server
    return server


def accept_key_for(head: bytes, websocket_path: str) -> bytes | None:
    """Sec-WebSocket-Accept for a valid upgrade of ``websocket_path`` (``head``: the request line and
    headers, without the blank line), else None."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET":
        return None
    raw_path = parts[1].partition(b"?")[0]
    if unquote(raw_path.decode("latin-1")) != websocket_path:
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


def request_scope(head: bytes, transport: asyncio.Transport, server: SharedServer, app_state: dict[str, Any]) -> Scope:
    """The upgrade request ``head`` as an ASGI scope (built again each time it is asked for: rarely)."""
    lines = head.split(b"\r\n")
    target = lines[0].split(b" ")[1]
    raw_path, _, query = target.partition(b"?")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower(), value.strip()))
    root = server.config.root_path
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
        "state": app_state.copy(),
    }
    if server.proxy is not None:
        _apply_proxy_headers(server.proxy, scope)
    return scope


def chosen_subprotocol(offered: list[str]) -> str | None:
    """``graphql-transport-ws`` when offered, else the first offer (accepted, then closed with 4406 by the
    caller), else None."""
    return WS_PROTOCOL if WS_PROTOCOL in offered else (offered[0] if offered else None)


def switching_protocols(accept: bytes, chosen: str | None, default_headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The ``101 Switching Protocols`` response (with uvicorn's default headers)."""
    response = [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
        accept,
        b"\r\n",
    ]
    if chosen:
        response += [b"Sec-WebSocket-Protocol: ", chosen.encode("latin-1"), b"\r\n"]
    for name, value in default_headers:
        response += [name, b": ", value, b"\r\n"]
    response.append(b"\r\n")
    return b"".join(response)


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
