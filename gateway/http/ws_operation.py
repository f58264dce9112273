"""One operation of a graphql-transport-ws connection (gateway/http/ws.py): the listener of its subscriber.

The service's :class:`~gateway.subscriptions.subscriber.Subscriber` hands each event to
:meth:`Operation.deliver` as the fan-out pushes it: the ``next`` frame is written to the socket
there and then (no task woken per subscriber), or refused while the client leaves earlier writes
unread (the subscriber queues it, bounded, until :meth:`Operation.resume`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from gateway.http.streams import error
from gateway.subscriptions.messages import SubscriptionMessage

if TYPE_CHECKING:
    from gateway.http.ws import _Connection

__all__ = ["Operation"]

logger = logging.getLogger("gateway.http.ws")


class Operation:
    """One running operation of a connection; the :class:`~gateway.subscriptions.subscriber.Listener`
    of its subscriber (``stream``, once listened to). The task exists only while the operation is
    being opened, or while it iterates a stream that cannot be listened to."""

    __slots__ = ("conn", "done", "op_id", "stream", "task")

    def __init__(self, conn: _Connection, op_id: str) -> None:
        self.conn = conn
        self.op_id = op_id
        self.task: asyncio.Task[None] | None = None
        self.stream: Any = None
        self.done = False

    def opened(self, task: asyncio.Task[None]) -> None:
        if self.task is task:
            self.task = None
        if self.stream is None:  # refused, answered once, failed or cancelled: nothing listens any more
            self.done = True
            self.conn.finished(self)

    # the subscriber's Listener
    def deliver(self, message: SubscriptionMessage) -> bool:
        if self.done:
            return True  # nobody listens: dropped
        if not self.conn._socket.writable:
            return False
        try:
            self.send_next(message)
        except Exception:  # called by the fan-out: one subscriber's failure must not stop the others
            logger.exception("websocket operation %s on %s: an event could not be sent", self.op_id, self.conn._client)
            stream, self.stream = self.stream, None
            self.refuse([error("Internal server error", "INTERNAL_SERVER_ERROR")])
            if stream is not None:
                stream.close()
            return True
        if message.final:
            stream, self.stream = self.stream, None
            self.complete()
            if stream is not None:
                stream.close()
        return True

    def ended(self, message: SubscriptionMessage | None) -> None:
        if self.done:
            return
        if message is not None:
            self.send_next(message)
        self.stream = None
        self.complete()

    def resume(self) -> None:
        stream = self.stream
        if stream is not None:
            stream.resume()

    # outputs
    def send_next(self, message: SubscriptionMessage) -> bool:
        if self.done:
            return False
        self.conn.next(self.op_id, message)
        return True

    def complete(self) -> None:
        if not self.done:
            self.done = True
            self.conn.send({"id": self.op_id, "type": "complete"})
            self.conn.finished(self)

    def refuse(self, errors: list[dict[str, Any]]) -> None:
        if not self.done:
            self.done = True
            self.conn.refuse(self.op_id, errors)
            self.conn.finished(self)

    def stop(self) -> None:
        """Nothing more is sent for this operation; its stream is closed."""
        self.done = True
        task, self.task = self.task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()  # the task closes a stream it iterates
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.close()
