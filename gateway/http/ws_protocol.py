"""uvicorn's sans-I/O WebSocket protocol, leaner per idle connection (``gateway serve`` uses it).

A subscriber's socket stays open for hours doing nothing, so what uvicorn keeps per connection
is most of the gateway's memory per subscriber. Measured with tracemalloc by allocation site
(2,000 idle graphql-transport-ws subscribers, bench/subscriptions stand-ins), per connection:

- the handshake: the websockets ``Request`` (its ``Headers``: a dict of lists and a list of pairs)
  is kept alive by the protocol parser's generator frame and uvicorn's ``self.request`` /
  ``self.response`` for the life of the connection, ~5.5 KB; its headers are copied into the
  ASGI scope anyway. Dropped once the handshake is complete (the first ``receive`` after it).
- the receive queue, an ``asyncio.Queue`` (three deques and an ``Event`` with a fourth), ~2.5 KB,
  for a queue that holds at most a message or two (uvicorn pauses reading while one waits): a
  list and one waiter future here.
- the ``writable`` flag, an ``asyncio.Event`` (a deque of waiters), ~0.8 KB: a flag and a list made
  only while a write waits.

Everything else is uvicorn's and the websockets library's own, unchanged.

On the application side, :class:`GatewayApp` hands the ``/graphql`` WebSocket straight to its
handler: through Starlette's stack (error middleware, exception middleware, router, route, the
session's exception wrapper) every open socket kept five more coroutine frames and two ``send``
wrappers, ~5 KB per idle subscriber and a wrapper call per delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["GatewayApp", "LeanWebSocketProtocol"]


class _Inbox:
    """What uvicorn uses of an ``asyncio.Queue`` (one reader: the ASGI app's ``receive``)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class _Writable:
    """What uvicorn uses of an ``asyncio.Event`` for flow control (set: the socket takes writes)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol without its idle ballast (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Writable()  # type: ignore[assignment]
        self._handshake_kept = True

    def receive(self) -> Coroutine[Any, Any, Any]:  # type: ignore[override]
        # not a coroutine of its own: no frame of it stays while the app waits for a message
        if self._handshake_kept and self.handshake_complete:
            self._drop_handshake()
        return super().receive()

    def _drop_handshake(self) -> None:
        """Forget the handshake's request and response (their headers are in the ASGI scope)."""
        self._handshake_kept = False
        request = getattr(self, "request", None)
        if request is not None:
            request.headers.clear()  # the parser's generator frame still refers to the object
            self.request = None  # type: ignore[assignment]
        response = getattr(self, "response", None)
        if response is not None:
            response.headers.clear()
            self.response = None  # type: ignore[assignment]


class GatewayApp(Starlette):
    """The gateway's Starlette app; a WebSocket on ``websocket_path`` skips Starlette's stack (see the module).

    Nothing of that stack acts on this socket: the error middleware passes non-HTTP scopes through,
    the handler catches its own failures and closes the socket itself.
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
