"""One client's subscription: a bounded queue of messages, read by the edge as a stream.

An edge that can write without waiting (the WebSocket edge) :meth:`~Subscriber.listen` s
instead of iterating: each message is handed to its :class:`Listener` as the fan-out pushes
it (a direct write, no task woken per subscriber); the queue only fills while the listener's
client is not taking writes, and the listener :meth:`~Subscriber.resume` s it when it is again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from gateway.contracts import GraphQLRequest, Principal
from gateway.subscriptions.messages import (
    SUBSCRIPTION_CONSUMER_TOO_SLOW,
    SUBSCRIPTION_EVENTS_DROPPED,
    SubscriptionMessage,
    final,
    notice,
)
from gateway.subscriptions.stats import SubscriptionStats

__all__ = ["Listener", "Subscriber"]


class Listener(Protocol):
    """What takes a listened-to subscriber's messages (see the module docstring)."""

    def deliver(self, message: SubscriptionMessage) -> bool:
        """Write ``message`` now; False (nothing written): the client is not taking writes, keep it."""

    def ended(self, message: SubscriptionMessage | None) -> None:
        """The stream ended, after ``message`` (its final one, to be written whatever the backlog) if any."""


class Subscriber:
    """A :class:`~gateway.subscriptions.messages.SubscriptionStream`: the fan-out :meth:`push` es
    messages, the edge iterates; at most ``queue_size`` wait. A full queue drops its oldest
    message (and the reader is told how many before the next one) or, with ``disconnect``,
    ends the stream. ``on_close`` runs once, when the stream ends for any reason."""

    __slots__ = (
        "_closed",
        "_disconnect_slow",
        "_dropped",
        "_ending",
        "_final",
        "_listener",
        "_on_close",
        "_queue",
        "_size",
        "_stats",
        "_waiter",
        "group",
        "headers",
        "principal",
        "request",
        "tenant",
        "upstream",
    )

    def __init__(self, *, request: GraphQLRequest, principal: Principal, headers: Mapping[str, str],
                 tenant: str | None, queue_size: int, disconnect_slow: bool, stats: SubscriptionStats,
                 on_close: Callable[[Subscriber], None]) -> None:
        self.request = request
        self.principal = principal
        self.headers = dict(headers)
        self.tenant = tenant
        self.upstream: Any = None  # the shared upstream stream it is attached to (set by the service)
        self.group: Any = None  # its completion group there
        # both made on first use and dropped when done with: an idle subscriber holds neither
        self._queue: deque[SubscriptionMessage] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._size = queue_size
        self._disconnect_slow = disconnect_slow
        self._stats = stats
        self._on_close = on_close
        self._dropped = 0
        self._final: SubscriptionMessage | None = None
        self._listener: Listener | None = None
        self._ending = False  # no more messages are taken (a final one, or normal completion, is set)
        self._closed = False

    @property
    def closed(self) -> bool:
        """No more messages will be taken (ending, or closed by the reader)."""
        return self._ending or self._closed

    def push(self, message: SubscriptionMessage) -> None:
        """Queue ``message`` for the reader (never blocks)."""
        if self._ending or self._closed:
            return
        queue = self._queue
        listener = self._listener
        if listener is not None and queue is None and not self._dropped and listener.deliver(message):
            self._stats.events_delivered += 1
            return
        if queue is None:
            queue = self._queue = deque()
        elif len(queue) >= self._size:
            if self._disconnect_slow:
                self._queue = None
                self.finish(final("The subscriber did not keep up with its events.", SUBSCRIPTION_CONSUMER_TOO_SLOW))
                return
            queue.popleft()
            self._dropped += 1
            self._stats.events_dropped += 1
        queue.append(message)
        if listener is None:
            self._wake()

    def finish(self, message: SubscriptionMessage | None = None) -> None:
        """End the stream after what is queued: with ``message`` (final) or, without one, normally."""
        if self._ending or self._closed:
            return
        self._ending = True
        self._final = message
        self._detach()
        if self._listener is not None:
            self.resume()
        else:
            self._wake()

    def listen(self, listener: Listener) -> None:
        """Hand every message to ``listener`` from now on, those queued first (instead of iterating)."""
        self._listener = listener
        self.resume()

    def resume(self) -> None:
        """The listener's client takes writes again: hand it what is queued, the end of the stream too."""
        listener = self._listener
        while listener is not None and not self._closed:
            if self._dropped:
                count = self._dropped
                if not listener.deliver(notice(f"{count} event(s) were dropped because the subscriber did not keep up.",
                                               SUBSCRIPTION_EVENTS_DROPPED, dropped=count)):
                    return
                self._dropped = 0
                continue
            queue = self._queue
            if queue:
                if not listener.deliver(queue[0]):
                    return
                queue.popleft()
                self._stats.events_delivered += 1
                if not queue:
                    self._queue = None
                continue
            if self._ending:
                self._closed = True
                self._listener = None
                listener.ended(self._final)
            return

    def close(self) -> None:
        """The client left (what :meth:`aclose` does, callable from a callback)."""
        self._closed = True
        self._queue = None
        self._listener = None
        self._detach()
        self._wake()

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> SubscriptionMessage:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._dropped:
                count, self._dropped = self._dropped, 0
                return notice(f"{count} event(s) were dropped because the subscriber did not keep up.",
                              SUBSCRIPTION_EVENTS_DROPPED, dropped=count)
            queue = self._queue
            if queue:
                self._stats.events_delivered += 1
                message = queue.popleft()
                if not queue:
                    self._queue = None
                return message
            if self._ending:
                self._closed = True
                if self._final is not None:
                    return self._final
                raise StopAsyncIteration
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    async def aclose(self) -> None:
        """The client left: stop and detach (idempotent)."""
        self.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _detach(self) -> None:
        callback, self._on_close = self._on_close, _nothing
        callback(self)


def _nothing(_: Subscriber) -> None:
    return None
