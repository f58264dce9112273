"""Fixtures: the stub subgraphs on loopback, and a subscription service over their supergraph."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest

from gateway.http.state import GatewayState, sdl_digest
from gateway.runtime import Gateway
from gateway.settings import Settings
from gateway.subscriptions import SubscriptionConfig, SubscriptionMessage, Subscriptions, SubscriptionStream
from gateway.telemetry.metrics import GatewayMetrics
from gateway.transport import HTTPTransport

from .stubs import Broker, StubServer, prices_server, stock_server, supergraph


@dataclass
class Stubs:
    broker: Broker
    stock: StubServer
    prices: StubServer

    def supergraph(self, *, renamed: bool = False) -> str:
        return supergraph(self.stock.url, self.prices.url, renamed=renamed)


@pytest.fixture(scope="module")
def stubs() -> Iterator[Stubs]:
    broker = Broker()
    stock, prices = stock_server(broker).start(), prices_server().start()
    try:
        yield Stubs(broker, stock, prices)
    finally:
        stock.stop()
        prices.stop()


@dataclass
class Harness:
    """A subscription service over the stubs' supergraph, as the edge would use it."""

    stubs: Stubs
    state: GatewayState
    service: Subscriptions
    metrics: GatewayMetrics

    def install(self, sdl: str) -> None:
        self.state.install(Gateway.from_supergraph_sdl(sdl), sdl_digest(sdl))


@pytest.fixture
async def make_harness(stubs: Stubs) -> AsyncIterator[Callable[..., Harness]]:
    made: list[Harness] = []
    transport = HTTPTransport.from_settings(Settings())

    def make(**config: object) -> Harness:
        state = GatewayState()
        sdl = stubs.supergraph()
        state.install(Gateway.from_supergraph_sdl(sdl), sdl_digest(sdl))
        metrics = GatewayMetrics()
        defaults: dict[str, object] = {"reconnect_backoff": 0.05, "reconnect_max_backoff": 0.2, "resume_window": 0}
        service = Subscriptions(Settings(), state, transport, metrics=metrics,
                                config=SubscriptionConfig(**{**defaults, **config}))  # type: ignore[arg-type]
        harness = Harness(stubs, state, service, metrics)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.service.aclose()
    await transport.aclose()
    await wait_until(lambda: stubs.broker.active == 0)


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def receive(stream: SubscriptionStream, within: float = 10.0) -> SubscriptionMessage:
    """The stream's next message (fails when none comes in time or the stream ended)."""
    return await asyncio.wait_for(anext(aiter(stream)), within)
