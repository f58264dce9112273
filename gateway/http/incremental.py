"""Incremental delivery over HTTP: ``multipart/mixed`` with ``deferSpec=20220824`` (Apollo's format).

A client that sends ``Accept: multipart/mixed;deferSpec=20220824, application/json`` (Apollo
Client does) and an operation with an active ``@defer`` gets
``content-type: multipart/mixed;boundary="graphql";deferSpec=20220824``: each payload of
:mod:`gateway.incremental` is one ``application/json`` part, the closing delimiter ends it.
Every other request (no ``@defer``, or a client that does not take multipart) is answered with
one JSON body; the deferred parts are then part of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from gateway.http.correlation import with_request_id
from gateway.http.multipart import BOUNDARY
from gateway.http.negotiation import media_ranges
from gateway.incremental import IncrementalOutcome

__all__ = ["DEFER_SPEC", "accepts_incremental", "incremental_response"]

DEFER_SPEC = "20220824"
CONTENT_TYPE = f'multipart/mixed;boundary="{BOUNDARY}";deferSpec={DEFER_SPEC}'
GATEWAY_TIMEOUT = "GATEWAY_TIMEOUT"
_PART = b"\r\n--" + BOUNDARY.encode() + b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
_END = b"\r\n--" + BOUNDARY.encode() + b"--\r\n"


def accepts_incremental(accept: str | None) -> bool:
    """Whether ``Accept`` names ``multipart/mixed`` with the ``deferSpec`` this gateway speaks."""
    return any(
        accepted.media == "multipart/mixed" and accepted.params.get("deferspec") == DEFER_SPEC and accepted.quality > 0
        for accepted in media_ranges(accept)
    )


def incremental_response(outcome: IncrementalOutcome, request_id: str, timeout: float | None) -> StreamingResponse:
    """The multipart response: the first payload now, the others as they come (within ``timeout``
    seconds in all; past it a last part says so with ``GATEWAY_TIMEOUT``). ``request_id`` is the
    ``x-request-id`` header and every error's ``extensions.requestId`` (gateway/http/correlation.py)."""
    return StreamingResponse(
        _parts(outcome, request_id, timeout), headers={"x-request-id": request_id}, media_type=CONTENT_TYPE
    )


def _part(payload: dict[str, Any], request_id: str) -> bytes:
    """One part: where each payload is serialised, so where its errors get the request id."""
    return _PART + orjson.dumps(with_request_id(payload, request_id))


async def _parts(outcome: IncrementalOutcome, request_id: str, seconds: float | None) -> AsyncIterator[bytes]:
    yield _part(outcome.to_response(), request_id)
    rest = outcome.subsequent
    if rest is not None:
        loop = asyncio.get_running_loop()
        ends = loop.time() + seconds if seconds else None
        try:
            while True:
                # the deadline covers waiting for the next payload, never a yield (the client's
                # reading is not timed); the payloads are read in this task, so a client that
                # leaves cancels the deferred fetches right here
                try:
                    async with asyncio.timeout_at(ends):
                        payload = await anext(rest)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    yield _part(_late(seconds or 0), request_id)
                    break
                yield _part(payload, request_id)
        finally:
            await rest.aclose()  # type: ignore[attr-defined]
    yield _END


def _late(timeout: float) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": f"The deferred parts did not complete within {timeout:g} seconds",
                "extensions": {"code": GATEWAY_TIMEOUT},
            }
        ],
        "hasNext": False,
    }
