"""A ``graphql-transport-ws`` client for one subscription to one subgraph.

:func:`subscribe_upstream` connects (the subgraph URL with http -> ws), sends
``connection_init`` with the forwarded identity, waits for ``connection_ack``, subscribes and
yields the subgraph's messages; it answers the subgraph's pings. A lost connection raises
:class:`UpstreamLost`, saying whether trying again can help (a refused token cannot).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

__all__ = ["PROTOCOL", "UpstreamEvent", "UpstreamLost", "init_payload", "subscribe_upstream", "websocket_url"]

PROTOCOL = Subprotocol("graphql-transport-ws")
_SUBSCRIPTION_ID = "1"  # one subscription per connection
# graphql-transport-ws close codes after which connecting again gives the same answer
_FINAL_CLOSE_CODES = frozenset({4400, 4401, 4403, 4406, 4409, 4429})
_IDENTITY_HEADERS = ("authorization", "x-tenant-id", "x-request-id")


@dataclass(frozen=True, slots=True)
class UpstreamEvent:
    """A subgraph message: ``subscribed`` (acknowledged, subscription sent), ``next`` (an
    event: ``payload`` is ``{"data":..., "errors":...}``), ``error`` (``payload`` is
    ``{"errors": [...]}``: the subscription was refused) or ``complete``."""

    kind: Literal["subscribed", "next", "error", "complete"]
    payload: dict[str, Any] | None = None


class UpstreamLost(Exception):
    """The connection to the subgraph failed or dropped; ``retry``: connecting again may help."""

    def __init__(self, reason: str, *, retry: bool, close_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.close_code = close_code


def websocket_url(url: str) -> str:
    """The subgraph's GraphQL URL with ``http`` -> ``ws`` (``https`` -> ``wss``)."""
    if url.startswith("https://"):
        return "wss://" + url[len("https://"):]
    if url.startswith("http://"):
        return "ws://" + url[len("http://"):]
    return url


def init_payload(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``connection_init`` payload: authorization, x-tenant-id, x-request-id of the forwarded headers."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return {name: lowered[name] for name in _IDENTITY_HEADERS if lowered.get(name)}


async def subscribe_upstream(
    url: str,
    init: Mapping[str, Any],
    request: Mapping[str, Any],
    *,
    open_timeout: float = 10.0,
    ping_interval: float | None = 20.0,
    max_size: int | None = 16 * 1024 * 1024,
) -> AsyncGenerator[UpstreamEvent, None]:
    """Subscribe ``request`` (``{"query", "variables"}``) at the subgraph ``url``; yields its messages.

    Ends after ``complete`` or ``error``; raises :class:`UpstreamLost` when the connection fails.
    """
    try:
        ws = await connect(
            websocket_url(url), subprotocols=[PROTOCOL], open_timeout=open_timeout,
            ping_interval=ping_interval or None, max_size=max_size, compression=None, proxy=None,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        retry = status >= 500 or status == 429
        raise UpstreamLost(f"WebSocket upgrade refused with HTTP {status}", retry=retry) from exc
    except InvalidURI as exc:
        raise UpstreamLost(f"invalid subgraph URL {url!r}", retry=False) from exc
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        raise UpstreamLost(f"cannot connect: {type(exc).__name__}: {exc}", retry=True) from exc
    try:
        async for event in _session(ws, init, request, open_timeout):
            yield event
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else None
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        text = f"connection closed ({code} {reason})".replace(" )", ")") if code else "connection lost"
        raise UpstreamLost(text, retry=code not in _FINAL_CLOSE_CODES, close_code=code) from exc
    except TimeoutError as exc:
        raise UpstreamLost("no connection_ack in time", retry=True) from exc
    finally:
        await ws.close()


async def _session(ws: ClientConnection, init: Mapping[str, Any], request: Mapping[str, Any],
                   open_timeout: float) -> AsyncIterator[UpstreamEvent]:
    await ws.send(orjson.dumps({"type": "connection_init", "payload": dict(init)}).decode())
    async with asyncio.timeout(open_timeout):
        while True:
            message = _decode(await ws.recv())
            if message.get("type") == "connection_ack":
                break
            if message.get("type") == "ping":
                await ws.send('{"type":"pong"}')
    await ws.send(orjson.dumps({"id": _SUBSCRIPTION_ID, "type": "subscribe", "payload": dict(request)}).decode())
    yield UpstreamEvent("subscribed")
    async for raw in ws:
        message = _decode(raw)
        kind = message.get("type")
        if kind == "ping":
            await ws.send('{"type":"pong"}')
            continue
        if message.get("id") != _SUBSCRIPTION_ID:
            continue
        if kind == "next":
            payload = message.get("payload")
            yield UpstreamEvent("next", payload if isinstance(payload, dict) else {})
        elif kind == "error":
            errors = message.get("payload")
            yield UpstreamEvent("error", {"errors": errors if isinstance(errors, list) else [errors]})
            return
        elif kind == "complete":
            yield UpstreamEvent("complete")
            return
    raise UpstreamLost("connection closed by the subgraph", retry=True)


def _decode(raw: str | bytes) -> dict[str, Any]:
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return message if isinstance(message, dict) else {}
