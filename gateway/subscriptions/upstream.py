"""The ``graphql-transport-ws`` protocol towards subgraphs: connecting, messages, failures.

:func:`connect_upstream` connects (the subgraph URL with http -> ws), sends ``connection_init``
with the forwarded identity and waits for ``connection_ack``; the subscriptions themselves are
multiplexed over such connections by :mod:`gateway.subscriptions.connections`. A lost connection
is an :class:`UpstreamLost`, saying whether trying again can help (a refused token cannot).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

__all__ = [
    "PROTOCOL", "UpstreamEvent", "UpstreamLost", "connect_upstream", "decode", "init_payload", "lost", "websocket_url",
]

PROTOCOL = Subprotocol("graphql-transport-ws")
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


async def connect_upstream(
    url: str,
    init: Mapping[str, Any],
    *,
    open_timeout: float = 10.0,
    ping_interval: float | None = 20.0,
    max_size: int | None = 16 * 1024 * 1024,
) -> ClientConnection:
    """A WebSocket to the subgraph at ``url``, initialised with ``init`` and acknowledged;
    raises :class:`UpstreamLost`."""
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
        await ws.send(orjson.dumps({"type": "connection_init", "payload": dict(init)}).decode())
        async with asyncio.timeout(open_timeout):
            while True:
                message = decode(await ws.recv())
                if message.get("type") == "connection_ack":
                    return ws
                if message.get("type") == "ping":
                    await ws.send('{"type":"pong"}')
    except ConnectionClosed as exc:
        await ws.close()
        raise lost(exc) from exc
    except TimeoutError as exc:
        await ws.close()
        raise UpstreamLost("no connection_ack in time", retry=True) from exc
    except BaseException:
        await ws.close()
        raise


def lost(exc: ConnectionClosed) -> UpstreamLost:
    """What a closed connection means for its subscriptions (a refusal is not retried)."""
    code = exc.rcvd.code if exc.rcvd is not None else None
    reason = exc.rcvd.reason if exc.rcvd is not None else ""
    text = f"connection closed ({code} {reason})".replace(" )", ")") if code else "connection lost"
    return UpstreamLost(text, retry=code not in _FINAL_CLOSE_CODES, close_code=code)


def decode(raw: str | bytes) -> dict[str, Any]:
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return message if isinstance(message, dict) else {}
