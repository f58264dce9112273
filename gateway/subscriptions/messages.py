"""What the subscription service hands the client edge: messages, refusals, streams, codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "OPERATION_NOT_ALLOWED",
    "SUBGRAPH_SUBSCRIPTION_FAILED",
    "SUBSCRIPTION_CONSUMER_TOO_SLOW",
    "SUBSCRIPTION_EVENTS_DROPPED",
    "SUBSCRIPTION_EVENTS_MISSED",
    "SUBSCRIPTION_LIFETIME_EXCEEDED",
    "SUBSCRIPTION_LIMIT_REACHED",
    "SUBSCRIPTION_SCHEMA_RELOAD",
    "SUBSCRIPTION_UPSTREAM_RECONNECTED",
    "SubscriptionMessage",
    "SubscriptionRejected",
    "SubscriptionStream",
    "error",
    "final",
    "notice",
]

OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
SUBSCRIPTION_LIMIT_REACHED = "SUBSCRIPTION_LIMIT_REACHED"
# notices (the stream goes on)
SUBSCRIPTION_EVENTS_DROPPED = "SUBSCRIPTION_EVENTS_DROPPED"
SUBSCRIPTION_UPSTREAM_RECONNECTED = "SUBSCRIPTION_UPSTREAM_RECONNECTED"
SUBSCRIPTION_EVENTS_MISSED = "SUBSCRIPTION_EVENTS_MISSED"  # a resume the replay buffer could not serve
# final messages (the stream ends)
SUBSCRIPTION_SCHEMA_RELOAD = "SUBSCRIPTION_SCHEMA_RELOAD"
SUBSCRIPTION_LIFETIME_EXCEEDED = "SUBSCRIPTION_LIFETIME_EXCEEDED"
SUBGRAPH_SUBSCRIPTION_FAILED = "SUBGRAPH_SUBSCRIPTION_FAILED"
SUBSCRIPTION_CONSUMER_TOO_SLOW = "SUBSCRIPTION_CONSUMER_TOO_SLOW"  # slow_consumer: disconnect


@dataclass(frozen=True, slots=True)
class SubscriptionMessage:
    """One message for the client.

    ``payload`` is ``{"data":..., "errors":[...], "extensions":{...}}`` exactly as the client
    receives it (a notice has only ``errors``); ``event_id`` is the SSE ``id:`` (resume with
    ``Last-Event-ID``); ``final``: the stream ends after this message (its errors say why).
    A stream that ends without a final message completed normally (the subgraph completed it).
    """

    payload: dict[str, Any]
    event_id: str | None = None
    final: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionRejected:
    """``open`` refused the request: request errors with ``extensions.code``."""

    errors: list[dict[str, Any]]


class SubscriptionStream(Protocol):
    """The messages of one subscription; ``aclose`` ends it (the client left)."""

    def __aiter__(self) -> AsyncIterator[SubscriptionMessage]: ...

    async def aclose(self) -> None: ...


def error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """A GraphQL error with a stable ``extensions.code``."""
    return {"message": message, "extensions": {"code": code, **extensions}}


def notice(message: str, code: str, **extensions: Any) -> SubscriptionMessage:
    """A message with only ``errors`` that does not end the stream."""
    return SubscriptionMessage({"errors": [error(message, code, **extensions)]})


def final(message: str, code: str, **extensions: Any) -> SubscriptionMessage:
    """The last message of a stream, saying why it ends."""
    return SubscriptionMessage({"errors": [error(message, code, **extensions)]}, final=True)
