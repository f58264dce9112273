"""graphql-sse, distinct connections mode: one ``text/event-stream`` response per operation.

Requests are GraphQL over HTTP (GET or POST) with ``Accept: text/event-stream``. Each result is an
``event: next`` whose ``data:`` is the execution result; the stream ends with ``event: complete``.
Refusals that happen before execution (validation, persisted documents, limits) are ``next``
events too, as the protocol asks (a 4xx would leave an ``EventSource`` with nothing to show).
Events of a subscription carry ``id:`` lines; a client that reconnects with ``Last-Event-ID``
resumes after that event where the gateway still holds the events since then. While no event
arrives, a comment line (``:``) every ``subscriptions.heartbeat_interval`` seconds keeps proxies
from closing the connection.
"""

from __future__ import annotations

import re

import orjson

from gateway.http.streams import EVENT_STREAM, SSE_PROTOCOL
from gateway.subscriptions.messages import SubscriptionMessage

# An SSE field value ends at a line break; an id with NUL is ignored by clients.
_UNSAFE_ID = re.compile(r"[\r\n\x00]")


class SseFraming:
    """Writes messages as graphql-sse events."""

    protocol = SSE_PROTOCOL
    content_type = f"{EVENT_STREAM}; charset=utf-8"

    def message(self, message: SubscriptionMessage) -> bytes:
        """``event: next`` with the result (and its ``id:`` when it has one)."""
        head = b"event: next\n"
        if message.event_id:
            head += b"id: " + _UNSAFE_ID.sub("", message.event_id).encode("utf-8") + b"\n"
        # orjson never writes a line break, so the result is one data line
        return head + b"data: " + orjson.dumps(message.payload) + b"\n\n"

    def heartbeat(self) -> bytes:
        """A comment line: ignored by clients, keeps the connection busy."""
        return b":\n\n"

    def end(self) -> bytes:
        """``event: complete``."""
        return b"event: complete\ndata:\n\n"
