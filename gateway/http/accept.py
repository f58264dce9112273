"""What a request's ``Accept`` header asks of ``/graphql``, decided once per distinct header.

Three questions read the same header (:func:`~gateway.http.streams.negotiate_stream`, the response
media type, :func:`~gateway.http.incremental.accepts_incremental`), each parsing it again: 16 us of
the gateway's ~230 us of CPU for ``{ __typename }`` (make bench-dpp's typename-gateway profile,
2026-12-07), for a header whose few distinct values repeat from request to request. An
:class:`AcceptDecisions` answers all three from one parse and keeps the answer per header text,
bounded: the header is the client's to choose, so past :data:`MAX_REMEMBERED` distinct values the
memory starts again.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.http.incremental import accepts_incremental
from gateway.http.negotiation import APPLICATION_JSON, negotiate_response_type
from gateway.http.streams import negotiate_stream

# Distinct Accept headers remembered; a client varying its header on purpose only makes it parse again.
MAX_REMEMBERED = 256


@dataclass(frozen=True, slots=True)
class AcceptDecision:
    """``stream``: the streaming protocol asked for (None: plain); ``media_type``: the response's (None:
    406 Not Acceptable); ``incremental``: the client takes ``@defer`` as multipart parts."""

    stream: str | None
    media_type: str | None
    incremental: bool


def decide(accept: str | None, *, streams: bool) -> AcceptDecision:
    """The decision for ``accept`` (``streams``: the gateway serves subscriptions over HTTP streams)."""
    stream = negotiate_stream(accept) if streams else None
    media_type = APPLICATION_JSON if stream else negotiate_response_type(accept)
    incremental = accepts_incremental(accept)
    if media_type is None and incremental:
        media_type = APPLICATION_JSON  # @defer clients that name only multipart (gateway/http/incremental.py)
    return AcceptDecision(stream, media_type, incremental)


class AcceptDecisions:
    """:func:`decide`, remembered per header text (at most :data:`MAX_REMEMBERED`)."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[tuple[str | None, bool], AcceptDecision] = {}

    def decide(self, accept: str | None, *, streams: bool) -> AcceptDecision:
        """As :func:`decide`."""
        key = (accept, streams)
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()
            known = self._known[key] = decide(accept, streams=streams)
        return known
