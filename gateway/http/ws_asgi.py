"""The graphql-transport-ws connection (gateway/http/ws.py) over an ASGI WebSocket: any ASGI server.

``gateway serve`` does not use it (its own protocol, gateway/http/ws_protocol.py, is the socket);
under another server, or uvicorn with its default WebSocket protocol, the app's ``/graphql``
WebSocket handler reads here and writes through one sender task while there is output.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from gateway.http.ws import _Connection

__all__ = ["AsgiSocket"]


class AsgiSocket:
    """A :class:`Socket` over an ASGI WebSocket (any ASGI server): the reading loop is :meth:`serve`,
    writes go out in order from one sender task while there is output."""

    __slots__ = ("_conn", "_outbox", "_paused", "_reader", "_send_timeout", "_sender", "_ws", "writable")

    def __init__(self, websocket: WebSocket, send_timeout: float) -> None:
        self._ws = websocket
        self._send_timeout = send_timeout
        self._conn: _Connection | None = None
        self._outbox: list[str | tuple[int, str]] = []
        self._sender: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[Any] | None = None
        self._paused: asyncio.Future[None] | None = None
        self.writable = True

    async def serve(self, conn: _Connection) -> None:
        self._conn = conn
        self._reader = task = asyncio.current_task()
        try:
            while True:
                if self._paused is not None:
                    await self._paused
                message = await self._ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is not None:
                    conn.received(text)
                else:
                    conn.received_bytes(message.get("bytes") or b"")
        except asyncio.CancelledError:
            if task is None or not task.cancelling() or self._reader is not None:
                raise  # the server's, not ours (_stop)
            task.uncancel()
        finally:
            conn.gone()
            sender = self._sender
            if sender is not None and self._reader is not None:
                sender.cancel()

    def scope(self) -> Scope:
        return self._ws.scope

    def write(self, text: str) -> None:
        self._outbox.append(text)
        self._kick()

    def close(self, code: int, reason: str) -> None:
        self._outbox.append((code, reason))
        self._kick()

    def abort(self) -> None:
        sender = self._sender
        self._stop()
        if sender is not None and sender is not asyncio.current_task():
            sender.cancel()

    def pause_reading(self) -> None:
        if self._paused is None:
            self._paused = asyncio.get_running_loop().create_future()

    def resume_reading(self) -> None:
        paused, self._paused = self._paused, None
        if paused is not None and not paused.done():
            paused.set_result(None)

    def _kick(self) -> None:
        if self._sender is None:
            self.writable = False
            self._sender = asyncio.get_running_loop().create_task(self._send_all())

    async def _send_all(self) -> None:
        try:
            while self._outbox:
                item = self._outbox.pop(0)
                if isinstance(item, str):
                    await self._ws.send_text(item)
                else:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(self._send_timeout or None):
                            await self._ws.close(*item)
                    self._stop()
                    return
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._stop()
            return
        finally:
            self._sender = None
        self.writable = True
        if self._conn is not None:
            self._conn.drained()

    def _stop(self) -> None:
        """End the reading loop (the connection is closed or dropped)."""
        reader, self._reader = self._reader, None
        self._outbox.clear()
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
