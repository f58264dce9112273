"""The endpoint's remembered Accept decisions (gateway/http/accept.py) answer as parsing each header would.

A differential test of the fast path: for every header of a corpus (the spec's media types, wildcards,
quality values, parameters, streams and @defer, malformed items), the remembered decision equals the three
negotiations run on their own, asked in any order and again; and the memory stays bounded whatever
headers a client sends.
"""

from __future__ import annotations

import itertools

import pytest

from gateway.http.accept import MAX_REMEMBERED, AcceptDecision, AcceptDecisions
from gateway.http.incremental import accepts_incremental
from gateway.http.negotiation import APPLICATION_JSON, negotiate_response_type
from gateway.http.streams import negotiate_stream

ITEMS = [
    "application/json",
    "application/graphql-response+json",
    "application/graphql-response+json;charset=utf-8",
    "application/json; charset=latin1",
    "*/*",
    "application/*",
    "text/html",
    "text/event-stream",
    'multipart/mixed;subscriptionSpec="1.0"',
    "multipart/mixed;deferSpec=20220824",
    "application/json;q=0",
    "application/graphql-response+json;q=0.5",
    "text/event-stream;q=0.9",
    "application/json;q=abc",
    "",
    " , ",
]
HEADERS = [None, "", *ITEMS, *(", ".join(pair) for pair in itertools.permutations(ITEMS[:9], 2))]


def expected(accept: str | None, streams: bool) -> AcceptDecision:
    """The decision as the endpoint made it before it remembered them: three parses of the header."""
    stream = negotiate_stream(accept) if streams else None
    media_type = APPLICATION_JSON if stream else negotiate_response_type(accept)
    if media_type is None and accepts_incremental(accept):
        media_type = APPLICATION_JSON
    return AcceptDecision(stream, media_type, accepts_incremental(accept))


@pytest.mark.parametrize("streams", [True, False])
def test_remembered_decisions_equal_the_negotiations(streams: bool) -> None:
    decisions = AcceptDecisions()
    for _ in range(2):  # first parsed, then remembered
        for accept in HEADERS:
            assert decisions.decide(accept, streams=streams) == expected(accept, streams), accept
    # with and without HTTP streams the same header may decide differently, and each is kept apart
    both = AcceptDecisions()
    assert both.decide("text/event-stream", streams=True).stream is not None
    assert both.decide("text/event-stream", streams=False) == expected("text/event-stream", False)


def test_the_memory_is_bounded_whatever_the_client_sends() -> None:
    decisions = AcceptDecisions()
    for n in range(3 * MAX_REMEMBERED):
        accept = f"application/json;x={n}"
        assert decisions.decide(accept, streams=True) == expected(accept, True)
        assert len(decisions._known) <= MAX_REMEMBERED
