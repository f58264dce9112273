"""Subgraph subscriptions multiplexed over shared ``graphql-transport-ws`` connections.

One WebSocket per subgraph URL and identity (``authorization`` and tenant of the
``connection_init``) carries up to ``max_operations`` subscriptions (Strawberry accepts 100 per
connection by default); the next one opens another. A connection closes when its last
subscription stops. Its reader hands each message to its operation's bounded queue: an operation
that falls behind loses its oldest events and is told (``SUBSCRIPTION_EVENTS_DROPPED``), so one
slow upstream subscription never stalls the others on its connection. A lost connection fails all
its operations with the same :class:`~gateway.subscriptions.upstream.UpstreamLost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from gateway.subscriptions.stats import SubscriptionStats
from gateway.subscriptions.upstream import UpstreamEvent, UpstreamLost, connect_upstream, decode, lost

__all__ = ["ConnectionKey", "UpstreamPool"]

logger = logging.getLogger("gateway.subscriptions")

_Item = UpstreamEvent | UpstreamLost


@dataclass(frozen=True, slots=True)
class ConnectionKey:
    """Which subscriptions may share a connection: same subgraph URL and identity."""

    url: str
    authorization: str
    tenant: str


class _Operation:
    """One subscription on a connection: its bounded queue of messages."""

    __slots__ = ("dropped", "finished", "id", "items", "size", "waiter")

    def __init__(self, op_id: str, size: int) -> None:
        self.id = op_id
        self.size = size
        self.items: deque[_Item] = deque()
        self.dropped = 0
        self.finished = False
        self.waiter: asyncio.Future[None] | None = None

    def put(self, item: _Item, *, last: bool = False) -> None:
        if self.finished:
            return
        if not last and len(self.items) >= self.size:
            self.items.popleft()
            self.dropped += 1
        self.items.append(item)
        self.finished = last
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> _Item:
        while True:
            if self.dropped:
                count, self.dropped = self.dropped, 0
                return UpstreamEvent("next", {"data": None, "errors": [{
                    "message": f"{count} event(s) from the subgraph were dropped: the gateway did not keep up.",
                    "extensions": {"code": "SUBSCRIPTION_EVENTS_DROPPED", "dropped": count},
                }]})
            if self.items:
                return self.items.popleft()
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None


class UpstreamConnection:
    """One WebSocket to a subgraph and the subscriptions it carries."""

    def __init__(self, key: ConnectionKey, ws: ClientConnection, *, queue_size: int,
                 on_closed: Callable[[UpstreamConnection], None]) -> None:
        self.key = key
        self._ws = ws
        self._queue_size = queue_size
        self._on_closed = on_closed
        self._ops: dict[str, _Operation] = {}
        self._next = 0
        self.closed = False
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="subscription-connection")

    @property
    def load(self) -> int:
        """Subscriptions running on it."""
        return len(self._ops)

    async def start(self, request: Mapping[str, Any]) -> _Operation:
        """Send ``subscribe`` for ``request``; raises :class:`UpstreamLost`."""
        if self.closed:
            raise UpstreamLost("connection closed", retry=True)
        self._next += 1
        op = _Operation(str(self._next), self._queue_size)
        self._ops[op.id] = op
        try:
            await self._ws.send(orjson.dumps({"id": op.id, "type": "subscribe", "payload": dict(request)}).decode())
        except ConnectionClosed as exc:
            self._ops.pop(op.id, None)
            raise lost(exc) from exc
        return op

    async def stop(self, op: _Operation) -> None:
        """Stop ``op`` (``complete`` unless the subgraph ended it); the last one closes the connection."""
        if self._ops.pop(op.id, None) is not None and not op.finished and not self.closed:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(orjson.dumps({"id": op.id, "type": "complete"}).decode())
        if not self._ops:
            await self.aclose()

    async def aclose(self) -> None:
        self._closing()
        await self._ws.close()

    def _closing(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_closed(self)

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = decode(raw)
                kind = message.get("type")
                if kind == "ping":
                    await self._ws.send('{"type":"pong"}')
                    continue
                op = self._ops.get(message.get("id"))  # type: ignore[arg-type]
                if op is None:
                    continue
                if kind == "next":
                    payload = message.get("payload")
                    op.put(UpstreamEvent("next", payload if isinstance(payload, dict) else {}))
                elif kind == "error":
                    errors = message.get("payload")
                    op.put(UpstreamEvent("error", {"errors": errors if isinstance(errors, list) else [errors]}),
                           last=True)
                elif kind == "complete":
                    op.put(UpstreamEvent("complete"), last=True)
            failure = UpstreamLost("connection closed by the subgraph", retry=True)
        except ConnectionClosed as exc:
            failure = lost(exc)
        except Exception as exc:  # a reader must end its operations, whatever happened
            logger.exception("reading a subgraph subscription connection failed")
            failure = UpstreamLost(f"{type(exc).__name__}: {exc}", retry=True)
        self._closing()
        for op in list(self._ops.values()):
            op.put(UpstreamLost(failure.reason, retry=failure.retry, close_code=failure.close_code), last=True)
        self._ops.clear()


class UpstreamPool:
    """The subgraph connections of one subscription service (see the module docstring)."""

    def __init__(self, stats: SubscriptionStats, *, open_timeout: float = 10.0, ping_interval: float | None = 20.0,
                 max_operations: int = 100, queue_size: int = 256) -> None:
        self._stats = stats
        self._open_timeout = open_timeout
        self._ping_interval = ping_interval
        self._max_operations = max(max_operations, 1)
        self._queue_size = queue_size
        self._connections: dict[ConnectionKey, list[UpstreamConnection]] = {}
        self._opening: dict[ConnectionKey, asyncio.Future[None]] = {}

    async def subscribe(self, url: str, init: Mapping[str, str],
                        request: Mapping[str, Any]) -> AsyncGenerator[UpstreamEvent, None]:
        """Subscribe ``request`` at ``url`` as ``init``'s identity; yields ``subscribed``, then the
        subgraph's messages until ``complete`` or ``error``; raises :class:`UpstreamLost`."""
        connection = await self._connection(url, init)
        op = await connection.start(request)
        try:
            yield UpstreamEvent("subscribed")
            while True:
                item = await op.get()
                if isinstance(item, UpstreamLost):
                    raise item
                yield item
                if item.kind in ("error", "complete"):
                    return
        finally:
            await connection.stop(op)

    async def aclose(self) -> None:
        for connections in list(self._connections.values()):
            for connection in list(connections):
                await connection.aclose()

    async def _connection(self, url: str, init: Mapping[str, str]) -> UpstreamConnection:
        key = ConnectionKey(url, init.get("authorization", ""), init.get("x-tenant-id", ""))
        while True:
            for connection in self._connections.get(key, ()):
                if not connection.closed and connection.load < self._max_operations:
                    return connection
            pending = self._opening.get(key)
            if pending is None:
                break
            await asyncio.wait([pending])  # another subscription is opening one: share it, or its failure
            if not pending.cancelled() and (failed := pending.exception()) is not None:
                assert isinstance(failed, UpstreamLost)
                raise UpstreamLost(failed.reason, retry=failed.retry, close_code=failed.close_code)
        opening: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._opening[key] = opening
        try:
            ws = await connect_upstream(url, init, open_timeout=self._open_timeout, ping_interval=self._ping_interval)
        except UpstreamLost as exc:
            opening.set_exception(exc)
            opening.exception()  # retrieved: waiters read it
            raise
        except BaseException:
            opening.cancel()
            raise
        finally:
            if self._opening.get(key) is opening:
                del self._opening[key]
        connection = UpstreamConnection(key, ws, queue_size=self._queue_size, on_closed=self._closed)
        self._connections.setdefault(key, []).append(connection)
        self._stats.connections += 1
        self._stats.connections_opened += 1
        opening.set_result(None)
        return connection

    def _closed(self, connection: UpstreamConnection) -> None:
        connections = self._connections.get(connection.key)
        if connections is not None and connection in connections:
            connections.remove(connection)
            self._stats.connections -= 1
            if not connections:
                del self._connections[connection.key]
