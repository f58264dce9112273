"""Fast stand-in subgraphs for ``make bench-subscriptions``: ``events`` and ``catalog``.

One ASGI app serves both, so that the gateways in front of them are what gets measured:

* ``/events`` speaks ``graphql-transport-ws`` over WebSocket. Its one subscription field,
  ``productChanged: Product!``, yields an event each time ``POST /events/emit`` is called.
  Each event is executed once per distinct (document, variables) with graphql-core and the
  encoded ``next`` frame is sent to every subscription with that document, so 10,000
  identical upstream subscriptions (a gateway that does not deduplicate) cost one execution
  and 10,000 socket writes, not 10,000 executions.
* ``/catalog`` resolves ``Product`` entities (``name``, ``price``) over plain HTTP; each answer
  is computed once per request body and then served from a cache.

``GET /events/stats`` tells how many upstream connections and subscriptions are open: the
deduplication a gateway does is visible there.

    python bench/subscriptions/standin.py --port 4201
    python bench/subscriptions/standin.py --sdl events   # prints a subgraph SDL for composition
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLSchema, build_schema, execute, graphql, parse

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PRODUCTS = 100

_LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'
)

EVENTS_SDL = _LINK + """
type Product @key(fields: "id") {
  id: ID!
  seq: Int!
  emittedAt: Float!
}

type Query {
  lastSeq: Int!
}

type Subscription {
  productChanged: Product!
}
"""

CATALOG_SDL = _LINK + """
type Product @key(fields: "id") {
  id: ID!
  name: String!
  price: Int!
}

type Query {
  product(id: ID!): Product
}
"""

_RUNTIME_EVENTS = """
scalar _Any
type _Service { sdl: String }
type Product { id: ID! seq: Int! emittedAt: Float! }
union _Entity = Product
type Query { lastSeq: Int! _service: _Service! _entities(representations: [_Any!]!): [_Entity]! }
type Subscription { productChanged: Product! }
"""

_RUNTIME_CATALOG = """
scalar _Any
type _Service { sdl: String }
type Product { id: ID! name: String! price: Int! }
union _Entity = Product
type Query { product(id: ID!): Product _service: _Service! _entities(representations: [_Any!]!): [_Entity]! }
"""


def _product(product_id: str) -> dict[str, Any]:
    number = int(product_id[1:]) if product_id[1:].isdigit() else 0
    return {"__typename": "Product", "id": product_id, "name": f"Product {number}", "price": 100 * number + 99}


@dataclass
class _Subscription:
    """One upstream subscription: the document it asked for and where to send its events."""

    operation_id: str
    document: str
    variables: dict[str, Any]
    send: Callable[[bytes], Awaitable[None]]


@dataclass
class EventHub:
    """The events subgraph's state: open subscriptions and the next event number."""

    events_schema: GraphQLSchema
    subscriptions: dict[tuple[int, str], _Subscription] = field(default_factory=dict)
    connections: int = 0
    seq: int = 0
    emitted: int = 0

    async def emit(self, count: int = 1) -> int:
        """Send ``count`` events to every subscription; returns the frames written."""
        written = 0
        for _ in range(count):
            self.seq += 1
            event = {"__typename": "Product", "id": f"p{self.seq % PRODUCTS + 1}", "seq": self.seq,
                     "emittedAt": time.time()}
            frames: dict[tuple[str, bytes], bytes] = {}
            sends = []
            for sub in list(self.subscriptions.values()):
                key = (sub.document, orjson.dumps(sub.variables, option=orjson.OPT_SORT_KEYS))
                payload = frames.get(key)
                if payload is None:
                    payload = self._execute(sub, event)
                    frames[key] = payload
                frame = b'{"id":' + orjson.dumps(sub.operation_id) + b',"type":"next","payload":' + payload + b"}"
                sends.append(sub.send(frame))
            results = await asyncio.gather(*sends, return_exceptions=True)
            written += sum(1 for r in results if not isinstance(r, BaseException))
            self.emitted += 1
        return written

    def _execute(self, sub: _Subscription, event: dict[str, Any]) -> bytes:
        document = parse(sub.document)
        result = execute(self.events_schema, document, root_value={"productChanged": event},
                         variable_values=sub.variables)
        assert isinstance(result, ExecutionResult)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        return orjson.dumps(body)


class StandIn:
    """The ASGI app of both stand-in subgraphs."""

    def __init__(self) -> None:
        self.hub = EventHub(build_schema(_RUNTIME_EVENTS))
        self._events_http = build_schema(_RUNTIME_EVENTS)
        self._catalog = build_schema(_RUNTIME_CATALOG)
        self._cache: dict[tuple[str, bytes], bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"].rstrip("/")
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if path == "/events/emit":
            query = dict(p.split("=", 1) for p in scope.get("query_string", b"").decode().split("&") if "=" in p)
            written = await self.hub.emit(int(query.get("n", "1")))
            await self._reply(send, orjson.dumps({"seq": self.hub.seq, "written": written}))
        elif path == "/events/stats":
            await self._reply(send, orjson.dumps({
                "connections": self.hub.connections, "subscriptions": len(self.hub.subscriptions),
                "seq": self.hub.seq,
            }))
        elif path in ("/catalog", "/events"):
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            await self._reply(send, await self._http_graphql(path, body))
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async def _reply(self, send: Send, body: bytes) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    async def _http_graphql(self, path: str, body: bytes) -> bytes:
        cached = self._cache.get((path, body))
        if cached is not None:
            return cached
        request = orjson.loads(body)
        schema = self._catalog if path == "/catalog" else self._events_http
        sdl = CATALOG_SDL if path == "/catalog" else EVENTS_SDL

        def entities(_info: Any, representations: list[dict[str, Any]]) -> list[dict[str, Any]]:
            if path == "/catalog":
                return [_product(r["id"]) for r in representations]
            return [{**r} for r in representations]

        root = {"_service": {"sdl": sdl}, "_entities": entities, "lastSeq": self.hub.seq,
                "product": lambda _info, id: _product(id)}
        result = await graphql(schema, request["query"], root_value=root,
                               variable_values=request.get("variables"))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        encoded = orjson.dumps(out)
        if len(self._cache) < 10_000:
            self._cache[(path, body)] = encoded
        return encoded

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        protocols = scope.get("subprotocols") or []
        if "graphql-transport-ws" not in protocols:
            await send({"type": "websocket.close", "code": 4406})
            return
        await send({"type": "websocket.accept", "subprotocol": "graphql-transport-ws"})
        hub = self.hub
        hub.connections += 1
        conn = id(scope)
        lock = asyncio.Lock()

        async def send_bytes(frame: bytes) -> None:
            async with lock:
                await send({"type": "websocket.send", "text": frame.decode()})

        mine: list[tuple[int, str]] = []
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text") or message.get("bytes") or b"{}"
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "connection_init":
                    await send_bytes(b'{"type":"connection_ack"}')
                elif kind == "ping":
                    await send_bytes(b'{"type":"pong"}')
                elif kind == "subscribe":
                    payload = frame.get("payload") or {}
                    key = (conn, str(frame["id"]))
                    document = payload.get("query", "")
                    if parse(document).definitions[0].operation.value != "subscription":  # type: ignore[attr-defined]
                        result = await graphql(self._events_http, document, root_value={"lastSeq": hub.seq},
                                               variable_values=payload.get("variables"))
                        await send_bytes(orjson.dumps({"id": frame["id"], "type": "next",
                                                       "payload": {"data": result.data}}))
                        await send_bytes(orjson.dumps({"id": frame["id"], "type": "complete"}))
                        continue
                    hub.subscriptions[key] = _Subscription(str(frame["id"]), document,
                                                           payload.get("variables") or {}, send_bytes)
                    mine.append(key)
                elif kind == "complete":
                    hub.subscriptions.pop((conn, str(frame["id"])), None)
        finally:
            hub.connections -= 1
            for key in mine:
                hub.subscriptions.pop(key, None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4201)
    parser.add_argument("--sdl", choices=("events", "catalog"))
    args = parser.parse_args(argv)
    if args.sdl:
        sys.stdout.write(EVENTS_SDL if args.sdl == "events" else CATALOG_SDL)
        return
    import uvicorn

    uvicorn.run(StandIn(), host="127.0.0.1", port=args.port, log_level="warning", ws_max_size=1 << 20,
                ws_ping_interval=None)


if __name__ == "__main__":
    main()


__all__ = ["CATALOG_SDL", "EVENTS_SDL", "StandIn"]
