"""Two small Strawberry federation subgraphs with a Subscription, served by real uvicorn servers.

``stock`` owns ``Item`` (id, name) and ``Subscription.itemChanged(id)`` / ``itemEvents``; ``prices``
adds ``Item.price`` (``cost`` in the "renamed" variant, for hot reload). Events are published from
the test's thread through a :class:`Broker`, which also counts the subgraph subscriptions and keeps
every ``connection_init`` payload it saw, so tests can observe deduplication and resubscription.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
import uvicorn
from graphql import GraphQLError
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gateway.composition import SubgraphSource, compose
from tests.support.servers import ServerThread

PRICES = {"1": 9.5, "2": 20.0}


class Broker:
    """Thread-safe event source for the ``stock`` subgraph (survives a server restart)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[tuple[str, str]]]] = []
        self.subscribed = 0  # subscriptions started in total
        self.init_payloads: list[dict[str, Any]] = []

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._queues)

    def publish(self, item_id: str, name: str) -> None:
        with self._lock:
            targets = list(self._queues)
        for loop, queue in targets:
            loop.call_soon_threadsafe(queue.put_nowait, (item_id, name))

    def add(self) -> asyncio.Queue[tuple[str, str]]:
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        with self._lock:
            self._queues.append((asyncio.get_running_loop(), queue))
            self.subscribed += 1
        return queue

    def remove(self, queue: asyncio.Queue[tuple[str, str]]) -> None:
        with self._lock:
            self._queues = [(lp, q) for lp, q in self._queues if q is not queue]


@strawberry.federation.type(keys=["id"], name="Item")
class StockItem:
    id: strawberry.ID
    label: strawberry.Private[str]

    @strawberry.field
    def name(self) -> str:
        """The published name; ``!CODE`` makes it fail with that ``extensions.code`` (data null)."""
        if self.label.startswith("!"):
            raise GraphQLError(f"failed: {self.label[1:]}", extensions={"code": self.label[1:]})
        return self.label

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> StockItem:
        return StockItem(id=id, label=f"item {id}")


async def _events(info: strawberry.Info, only: str | None) -> AsyncGenerator[StockItem, None]:
    broker: Broker = info.context["broker"]
    queue = broker.add()
    try:
        while True:
            item_id, name = await queue.get()
            if only is None or item_id == only:
                yield StockItem(id=strawberry.ID(item_id), label=name)
    finally:
        broker.remove(queue)


@strawberry.type
class StockQuery:
    @strawberry.field
    def item(self, id: strawberry.ID) -> StockItem | None:
        return StockItem(id=id, label=f"item {id}")


@strawberry.type
class StockSubscription:
    @strawberry.subscription
    async def item_changed(self, info: strawberry.Info, id: strawberry.ID) -> AsyncGenerator[StockItem, None]:
        async for item in _events(info, str(id)):
            yield item

    @strawberry.subscription
    async def item_events(self, info: strawberry.Info) -> AsyncGenerator[StockItem, None]:
        async for item in _events(info, None):
            yield item


@strawberry.federation.type(keys=["id"], name="Item")
class PriceItem:
    id: strawberry.ID
    price: float

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> PriceItem:
        return PriceItem(id=id, price=PRICES.get(str(id), 1.0))


@strawberry.federation.type(keys=["id"], name="Item")
class CostItem:
    id: strawberry.ID
    cost: float

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> CostItem:
        return CostItem(id=id, cost=PRICES.get(str(id), 1.0))


@strawberry.type
class PricesQuery:
    @strawberry.field
    def currency(self) -> str:
        return "EUR"


def stock_schema() -> strawberry.federation.Schema:
    return strawberry.federation.Schema(query=StockQuery, subscription=StockSubscription)


def prices_schema(*, renamed: bool = False) -> strawberry.federation.Schema:
    return strawberry.federation.Schema(query=PricesQuery, types=[CostItem if renamed else PriceItem])


class _RecordingGraphQL(GraphQL[dict[str, Any], None]):
    def __init__(self, schema: Any, broker: Broker | None) -> None:
        super().__init__(schema, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])
        self._broker = broker

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"request": request, "response": response, "broker": self._broker}

    async def on_ws_connect(self, context: dict[str, Any]) -> Any:
        if self._broker is not None:
            self._broker.init_payloads.append(dict(context.get("connection_params") or {}))
        return await super().on_ws_connect(context)


def sdl(schema: strawberry.federation.Schema) -> str:
    result = schema.execute_sync("{ _service { sdl } }")
    assert result.errors is None and result.data is not None, result.errors
    return str(result.data["_service"]["sdl"])


def supergraph(stock_url: str, prices_url: str, *, renamed: bool = False) -> str:
    """The composed supergraph of the two subgraphs at those URLs."""
    result = compose([
        SubgraphSource("stock", stock_url, sdl(stock_schema())),
        SubgraphSource("prices", prices_url, sdl(prices_schema(renamed=renamed))),
    ])
    assert not result.errors, result.errors
    assert result.supergraph_sdl is not None
    return result.supergraph_sdl


class StubServer:
    """One subgraph on a fixed loopback port that can be stopped and started again."""

    def __init__(self, app: Any) -> None:
        self.app = app
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._thread: ServerThread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self) -> StubServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._thread = ServerThread(self.app, uvicorn.Server(config), sock=sock).start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None


def stock_server(broker: Broker) -> StubServer:
    return StubServer(_RecordingGraphQL(stock_schema(), broker))


def prices_server() -> StubServer:
    return StubServer(_RecordingGraphQL(prices_schema(), None))
