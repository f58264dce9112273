"""The WebSocket edge's hot path: ``next`` frames encoded once per event, one send-timeout timer per process.

A fan-out hands the same :class:`~gateway.subscriptions.messages.SubscriptionMessage` to every
subscriber of a completion group. :class:`NextFrames` encodes its payload once (the last message
seen, by identity) and each connection only glues its operation id around it.

A client that leaves a message unread for ``subscriptions.send_timeout`` seconds is dropped. A
timer per write (``asyncio.timeout``) costs a loop timer created and cancelled for every delivery,
although nearly every write completes at once (the socket buffer takes it). :class:`SendWatch`
instead marks each connection while its client leaves writes unread (its socket's buffer is above
the high-water mark, or an ASGI send is pending) and sweeps the marked ones from one loop timer,
armed only while some are marked, every quarter of the timeout: a stalled client is dropped between
``send_timeout`` and ``1.25 * send_timeout`` seconds after it stalled.

Pings likewise: :class:`PingClock` pings every acknowledged connection from one timer per process
every ``subscriptions.ping_interval`` seconds (a loop timer per connection cost ~0.5 KB each), each
ping written at once (the socket buffers it).
And deadlines (the ``connection_init`` timeout, a connection's maximum lifetime, its token's expiry):
one :class:`Deadlines` timer per kind and process, not a loop timer per connection.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Hashable
from typing import Any, Protocol

import orjson

from gateway.subscriptions.messages import SubscriptionMessage

__all__ = ["Deadlines", "NextFrames", "PingClock", "Pinged", "SendWatch", "Watched", "next_prefix"]

logger = logging.getLogger("gateway.http.ws")


def next_prefix(op_id: str) -> str:
    """The start of a ``next`` frame of operation ``op_id``, up to its payload."""
    return '{"id":' + orjson.dumps(op_id).decode("utf-8") + ',"type":"next","payload":'


class NextFrames:
    """``next`` frames whose payload JSON is encoded once per message (see the module docstring).

    Holds the last message it encoded (one per app): a payload is never mutated once handed out
    (the service's contract), so its identity stands for its encoding.
    """

    __slots__ = ("_json", "_message", "_op_id", "_text")

    def __init__(self) -> None:
        self._message: SubscriptionMessage | None = None
        self._json = ""
        self._op_id = ""
        self._text = ""

    def frame(self, prefix: str, message: SubscriptionMessage) -> str:
        """The text of ``message``'s ``next`` frame for the operation whose :func:`next_prefix` is ``prefix``."""
        if message is not self._message:
            self._json = orjson.dumps(message.payload).decode("utf-8")
            self._message = message
            self._op_id = ""
        return prefix + self._json + "}"

    def for_operation(self, op_id: str, message: SubscriptionMessage) -> str:
        """:meth:`frame` by operation id; the same text object while the id and message repeat (a fan-out
        to clients that all named their operation alike: the socket layer encodes it once too)."""
        if message is self._message and op_id == self._op_id:
            return self._text
        self._text = self.frame(next_prefix(op_id), message)
        self._op_id = op_id
        return self._text


class Watched(Protocol):
    """A connection :class:`SendWatch` looks after."""

    writing: int  # writes in flight
    writing_since: float  # time.monotonic() when the oldest of them began

    def too_slow(self) -> None:
        """Its client has not taken a write for the send timeout: drop it."""


class SendWatch:
    """Drops connections whose write waited longer than ``timeout`` seconds (0: never); see the module."""

    __slots__ = ("_pending", "_timeout", "_timer")

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._pending: set[Watched] = set()
        self._timer: asyncio.TimerHandle | None = None

    def begin(self, conn: Watched) -> None:
        """A write of ``conn`` starts."""
        conn.writing += 1
        if conn.writing > 1 or not self._timeout:
            return
        conn.writing_since = time.monotonic()
        self._pending.add(conn)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._timeout / 4, self._sweep)

    def end(self, conn: Watched) -> None:
        """A write of ``conn`` is over (done, failed or cancelled)."""
        conn.writing -= 1
        if conn.writing <= 0:
            conn.writing = 0
            self._pending.discard(conn)
        else:  # the socket took one: the others wait from now
            conn.writing_since = time.monotonic()

    def _sweep(self) -> None:
        self._timer = None
        deadline = time.monotonic() - self._timeout
        for conn in [c for c in self._pending if c.writing_since <= deadline]:
            self._pending.discard(conn)
            conn.too_slow()
        if self._pending:
            self._timer = asyncio.get_running_loop().call_later(self._timeout / 4, self._sweep)


class Pinged(Protocol):
    """A connection :class:`PingClock` pings."""

    def ping(self) -> None:
        """Write a ``ping`` message now."""


class PingClock:
    """Pings every member every ``interval`` seconds (0: never) from one loop timer; see the module."""

    __slots__ = ("_interval", "_members", "_timer")

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._members: set[Pinged] = set()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, conn: Pinged) -> None:
        if not self._interval:
            return
        self._members.add(conn)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._tick)

    def discard(self, conn: Pinged) -> None:
        self._members.discard(conn)

    def _tick(self) -> None:
        self._timer = None
        for conn in list(self._members):
            try:
                conn.ping()
            except Exception:  # pragma: no cover - a ping must not stop the others
                logger.exception("websocket ping failed")
        if self._members:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._tick)


class Deadlines:
    """Calls ``expired(member)`` once a member's deadline (loop time) has passed, from one loop timer.

    A heap of (deadline, n, member) with the live deadlines in a dict: :meth:`discard` only forgets the
    member, its heap entry is skipped when it comes up; the heap is rebuilt when stale entries
    outnumber live ones (a closed connection is not kept until its deadline).
    """

    __slots__ = ("_count", "_expired", "_heap", "_live", "_timer")

    def __init__(self, expired: Callable[[Any], None]) -> None:
        self._expired = expired
        self._live: dict[Hashable, float] = {}
        self._heap: list[tuple[float, int, Hashable]] = []
        self._count = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, member: Hashable, delay: float) -> None:
        """``member``'s deadline is ``delay`` seconds from now (replacing an earlier one)."""
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        self._live[member] = when
        heapq.heappush(self._heap, (when, next(self._count), member))
        if len(self._heap) > 2 * len(self._live) + 64:
            self._heap = [(w, next(self._count), m) for m, w in self._live.items()]
            heapq.heapify(self._heap)
        self._arm(loop)

    def discard(self, member: Hashable) -> None:
        self._live.pop(member, None)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        heap = self._heap
        while heap and self._live.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        if not heap:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            return
        first = heap[0][0]
        if self._timer is not None:
            if self._timer.when() <= first:
                return
            self._timer.cancel()
        self._timer = loop.call_at(first, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, member = heapq.heappop(heap)
            if self._live.get(member) == when:
                del self._live[member]
                try:
                    self._expired(member)
                except Exception:  # pragma: no cover - one member's failure must not stop the others
                    logger.exception("websocket deadline callback failed")
        self._arm(loop)
