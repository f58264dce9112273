"""The floor under ``make bench-dpp``'s fixed-rate latency: a server that does nothing, measured the same way.

``qr-gateway@80%``'s p99 counts everything between the scheduled instant and the answer: the
stack, and also the machine (CPUs shared with whatever else runs) and the client itself. This ASGI
app answers a fixed JSON body at once, served by uvicorn as the stack's processes are (uvloop,
httptools, one process); ``rate.py`` at the same rate against it, right after the stack's run,
measures what no server could go below on this machine at that moment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

BODY = b'{"data":{"publicPassport":null}}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """Read the request, answer ``BODY``."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
