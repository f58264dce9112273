"""The subscription service against real subgraphs on loopback (Strawberry, graphql-transport-ws)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from gateway.contracts import GraphQLRequest, Principal
from gateway.cost import DemandControlConfig
from gateway.http.state import sdl_digest
from gateway.runtime import Gateway
from gateway.serve import SupergraphWatcher, gateway_runtime_factory
from gateway.settings import Settings
from gateway.subscriptions import SubscriptionRejected, SubscriptionStream

from .conftest import Harness, receive, wait_until
from .stubs import supergraph

ITEM_WITH_PRICE = 'subscription { itemChanged(id: "1") { id name price } }'
HEADERS = {"authorization": "Bearer t-1", "x-tenant-id": "tenant-a", "x-request-id": "req-1"}
ALICE = Principal(authenticated=True, user_id="alice", tenant_id="tenant-a")


async def opened(harness: Harness, query: str, *, principal: Principal = ALICE,
                 headers: dict[str, str] | None = None, variables: dict[str, object] | None = None,
                 last_event_id: str | None = None) -> SubscriptionStream:
    stream = await harness.service.open(GraphQLRequest(query, variables), principal=principal,
                                        headers=HEADERS if headers is None else headers,
                                        last_event_id=last_event_id)
    assert not isinstance(stream, SubscriptionRejected), stream
    return stream


async def test_event_is_completed_with_a_field_of_a_second_subgraph(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    broker = harness.stubs.broker
    stream = await opened(harness, ITEM_WITH_PRICE)
    await wait_until(lambda: broker.active == 1)
    broker.publish("2", "ignored: another id")
    broker.publish("1", "kettle")
    message = await receive(stream)
    assert message.payload == {"data": {"itemChanged": {"id": "1", "name": "kettle", "price": 9.5}}}
    assert message.event_id is not None and not message.final
    # the identity reached the subgraph in connection_init
    assert broker.init_payloads[-1] == HEADERS
    await stream.aclose()
    await wait_until(lambda: broker.active == 0)
    assert harness.service.stats.upstreams == 0 and harness.service.stats.subscribers == 0


async def test_identical_subscriptions_share_one_upstream(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    broker = harness.stubs.broker
    before = broker.subscribed
    # different client operations, same primary fetch: one upstream, two completions
    first = await opened(harness, ITEM_WITH_PRICE)
    second = await opened(harness, 'subscription { itemChanged(id: "1") { id name cost: price } }')
    third = await opened(harness, ITEM_WITH_PRICE, headers={**HEADERS, "x-request-id": "req-2"})
    await wait_until(lambda: broker.active == 1)
    broker.publish("1", "teapot")
    one, two, three = await receive(first), await receive(second), await receive(third)
    assert one.payload["data"]["itemChanged"] == {"id": "1", "name": "teapot", "price": 9.5}
    assert two.payload == {"data": {"itemChanged": {"id": "1", "name": "teapot", "cost": 9.5}}}
    assert three.payload == one.payload and one.event_id == two.event_id == three.event_id
    stats = harness.service.stats
    assert broker.subscribed - before == 1
    assert (stats.upstreams, stats.subscribers, stats.completions) == (1, 3, 2)
    text = generate_latest(harness.metrics.registry).decode()
    assert "gateway_subscription_dedup_ratio 3.0" in text
    assert "gateway_subscription_upstreams 1.0" in text
    # another token (another identity) never shares the upstream
    other = await opened(harness, ITEM_WITH_PRICE, headers={**HEADERS, "authorization": "Bearer t-2"})
    await wait_until(lambda: broker.active == 2)
    assert harness.service.stats.upstreams == 2
    for stream in (first, second, third, other):
        await stream.aclose()
    await wait_until(lambda: broker.active == 0)


async def test_a_restarted_subgraph_is_resubscribed_and_subscribers_are_told(
        make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    broker, stock = harness.stubs.broker, harness.stubs.stock
    stream = await opened(harness, ITEM_WITH_PRICE)
    await wait_until(lambda: broker.active == 1)
    before = broker.subscribed
    stock.stop()
    await asyncio.sleep(0.3)
    stock.start()
    notice = await receive(stream)
    assert notice.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_UPSTREAM_RECONNECTED"
    assert "data" not in notice.payload and not notice.final
    await wait_until(lambda: broker.active == 1)
    assert broker.subscribed == before + 1
    broker.publish("1", "after restart")
    message = await receive(stream)
    assert message.payload["data"]["itemChanged"]["name"] == "after restart"
    assert harness.service.stats.upstream_reconnects == 1
    await stream.aclose()


async def test_a_subgraph_that_stays_down_ends_the_subscription(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(reconnect_timeout=0.5)
    broker, stock = harness.stubs.broker, harness.stubs.stock
    stream = await opened(harness, ITEM_WITH_PRICE)
    await wait_until(lambda: broker.active == 1)
    stock.stop()
    try:
        message = await receive(stream)
        if message.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_UPSTREAM_RECONNECTED":
            message = await receive(stream)  # pragma: no cover - only if the server came back
    finally:
        stock.start()
    assert message.final
    assert message.payload["errors"][0]["extensions"]["code"] == "SUBGRAPH_SUBSCRIPTION_FAILED"
    assert harness.service.stats.upstreams == 0 and harness.service.stats.upstream_failures == 1
    with pytest.raises(StopAsyncIteration):
        await receive(stream)


async def test_a_slow_consumer_loses_its_oldest_events_and_is_told(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(queue_size=2)
    broker = harness.stubs.broker
    slow = await opened(harness, 'subscription { itemChanged(id: "1") { name } }')
    fast = await opened(harness, 'subscription { itemChanged(id: "1") { name } }')
    await wait_until(lambda: broker.active == 1)
    names = []
    for n in range(5):
        broker.publish("1", f"event {n}")
        names.append((await receive(fast)).payload["data"]["itemChanged"]["name"])
    assert names == [f"event {n}" for n in range(5)]
    notice = await receive(slow)
    assert notice.payload["errors"][0]["extensions"] == {"code": "SUBSCRIPTION_EVENTS_DROPPED", "dropped": 3}
    kept = [(await receive(slow)).payload["data"]["itemChanged"]["name"] for _ in range(2)]
    assert kept == ["event 3", "event 4"]
    assert harness.service.stats.events_dropped == 3
    await slow.aclose()
    await fast.aclose()


async def test_a_slow_consumer_is_disconnected_when_configured(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(queue_size=1, slow_consumer="disconnect")
    broker = harness.stubs.broker
    slow = await opened(harness, 'subscription { itemChanged(id: "1") { name } }')
    await wait_until(lambda: broker.active == 1)
    broker.publish("1", "one")
    broker.publish("1", "two")
    await wait_until(lambda: harness.service.stats.subscribers == 0)
    message = await receive(slow)
    assert message.final and message.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_CONSUMER_TOO_SLOW"
    await wait_until(lambda: broker.active == 0)


async def test_hot_reload_keeps_valid_subscriptions_and_ends_the_others(
        make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    broker = harness.stubs.broker
    priced = await opened(harness, ITEM_WITH_PRICE)
    named = await opened(harness, 'subscription { itemChanged(id: "1") { id name } }')
    await wait_until(lambda: broker.active == 2)  # two primary documents (the priced one adds the key)
    before = broker.subscribed
    # price is gone (renamed cost): the priced subscription ends, the other one keeps its upstream
    harness.install(harness.stubs.supergraph(renamed=True))
    ended = await receive(priced)
    assert ended.final and ended.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_SCHEMA_RELOAD"
    assert "price" in ended.payload["errors"][0]["message"]
    await wait_until(lambda: harness.service.stats.subscribers == 1 and broker.active == 1)
    broker.publish("1", "still here")
    message = await receive(named)
    assert message.payload == {"data": {"itemChanged": {"id": "1", "name": "still here"}}}
    assert broker.subscribed == before  # the same upstream, not resubscribed
    # back to price: a new subscription completes against the new runtime
    harness.install(harness.stubs.supergraph())
    priced = await opened(harness, ITEM_WITH_PRICE)
    await wait_until(lambda: broker.active == 2)
    broker.publish("1", "priced again")
    assert (await receive(priced)).payload["data"]["itemChanged"]["price"] == 9.5
    assert (await receive(named)).payload["data"]["itemChanged"]["name"] == "priced again"
    await priced.aclose()
    await named.aclose()


async def test_per_tenant_limit(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(max_per_tenant=2)
    query = 'subscription { itemChanged(id: "1") { name } }'
    first, second = await opened(harness, query), await opened(harness, query)
    refused = await harness.service.open(GraphQLRequest(query), principal=ALICE, headers=HEADERS)
    assert isinstance(refused, SubscriptionRejected)
    assert refused.errors[0]["extensions"]["code"] == "SUBSCRIPTION_LIMIT_REACHED"
    bob = Principal(authenticated=True, user_id="bob", tenant_id="tenant-b")
    other = await opened(harness, query, principal=bob, headers={**HEADERS, "x-tenant-id": "tenant-b"})
    await first.aclose()
    again = await opened(harness, query)
    for stream in (second, other, again):
        await stream.aclose()


async def test_maximum_lifetime(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(max_lifetime=0.3)
    stream = await opened(harness, 'subscription { itemChanged(id: "1") { name } }')
    message = await receive(stream)
    assert message.final and message.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_LIFETIME_EXCEEDED"
    await wait_until(lambda: harness.stubs.broker.active == 0)


@pytest.mark.parametrize(("query", "code"), [
    ('{ item(id: "1") { name } }', "OPERATION_NOT_ALLOWED"),
    ("subscription { itemChanged { name } }", "GRAPHQL_VALIDATION_FAILED"),
    ("subscription { itemChanged(id: 1", "GRAPHQL_PARSE_FAILED"),
    ("subscription ($id: ID!) { itemChanged(id: $id) { name } }", "BAD_USER_INPUT"),
])
async def test_bad_requests_are_rejected(make_harness: Callable[..., Harness], query: str, code: str) -> None:
    harness = make_harness()
    refused = await harness.service.open(GraphQLRequest(query), principal=ALICE, headers=HEADERS)
    assert isinstance(refused, SubscriptionRejected)
    assert refused.errors[0]["extensions"]["code"] == code
    assert harness.service.stats.upstreams == 0


async def test_resume_replays_buffered_events(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(resume_window=5.0)
    broker = harness.stubs.broker
    query = "subscription ($id: ID!) { itemChanged(id: $id) { name } }"
    stream = await opened(harness, query, variables={"id": "1"})
    await wait_until(lambda: broker.active == 1)
    broker.publish("1", "a")
    first = await receive(stream)
    await stream.aclose()  # the client went away (an SSE reconnect) ...
    broker.publish("1", "b")
    broker.publish("1", "c")
    await wait_until(lambda: harness.service.streams[0].received == 3)
    resumed = await opened(harness, query, variables={"id": "1"}, last_event_id=first.event_id)
    replayed = [await receive(resumed), await receive(resumed)]
    assert [m.payload["data"]["itemChanged"]["name"] for m in replayed] == ["b", "c"]
    broker.publish("1", "d")
    assert (await receive(resumed)).payload["data"]["itemChanged"]["name"] == "d"
    assert harness.service.stats.upstreams_opened == 1
    # an id the buffer cannot serve: told that events may have been missed
    lost = await opened(harness, query, variables={"id": "1"}, last_event_id="00000000.1")
    assert (await receive(lost)).payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_EVENTS_MISSED"
    await resumed.aclose()
    await lost.aclose()


async def test_subgraph_events_without_data(make_harness: Callable[..., Harness]) -> None:
    """The subgraph's own drop notice passes as a notice, a failed event as it is, and an
    UNAUTHENTICATED event (the subgraph ends the subscription) as the final message."""
    harness = make_harness()
    broker = harness.stubs.broker
    stream = await opened(harness, ITEM_WITH_PRICE)
    await wait_until(lambda: broker.active == 1)
    broker.publish("1", "!SUBSCRIPTION_EVENTS_DROPPED")
    broker.publish("1", "!BOOM")
    broker.publish("1", "!UNAUTHENTICATED")
    dropped, failed, ended = await receive(stream), await receive(stream), await receive(stream)
    assert "data" not in dropped.payload and not dropped.final
    assert dropped.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_EVENTS_DROPPED"
    assert failed.payload["data"] is None and not failed.final
    assert failed.payload["errors"][0]["extensions"] == {"code": "BOOM", "serviceName": "stock"}
    assert ended.final and ended.payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    with pytest.raises(StopAsyncIteration):
        await receive(stream)
    await wait_until(lambda: broker.active == 0)


async def test_hot_reload_to_another_subgraph_url_moves_the_upstream(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    broker, stubs = harness.stubs.broker, harness.stubs
    stream = await opened(harness, ITEM_WITH_PRICE)
    await wait_until(lambda: broker.active == 1)
    before = broker.subscribed
    moved = stubs.stock.url.replace("127.0.0.1", "localhost")
    harness.install(supergraph(moved, stubs.prices.url))
    notice = await receive(stream)
    assert notice.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_UPSTREAM_RECONNECTED"
    await wait_until(lambda: broker.subscribed == before + 1 and broker.active == 1)  # new one open, old one closed
    assert [s.key.url for s in harness.service.streams] == [moved]
    broker.publish("1", "moved")
    assert (await receive(stream)).payload["data"]["itemChanged"]["name"] == "moved"
    await stream.aclose()


async def test_demand_control_applies_to_subscriptions(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    sdl = harness.stubs.supergraph()
    strict = Gateway.from_supergraph_sdl(sdl, cost=DemandControlConfig(mode="enforce", max_cost=0))
    harness.state.install(strict, sdl_digest(sdl))
    refused = await harness.service.open(GraphQLRequest(ITEM_WITH_PRICE), principal=ALICE, headers=HEADERS)
    assert isinstance(refused, SubscriptionRejected)
    assert refused.errors[0]["extensions"]["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"
    assert harness.service.stats.upstreams == 0


async def test_upstream_subscriptions_of_one_identity_share_a_connection(
        make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    broker, stats = harness.stubs.broker, harness.service.stats
    connections = len(broker.init_payloads)
    priced = await opened(harness, ITEM_WITH_PRICE)
    named = await opened(harness, 'subscription { itemChanged(id: "1") { name } }')
    events = await opened(harness, "subscription { itemEvents { name } }")
    await wait_until(lambda: broker.active == 3)
    assert (stats.upstreams, stats.connections) == (3, 1)
    assert len(broker.init_payloads) == connections + 1  # one connection_init for three subscriptions
    # the subgraph restarts: all three come back over one new connection
    harness.stubs.stock.stop()
    harness.stubs.stock.start()
    for stream in (priced, named, events):
        notice = await receive(stream)
        assert notice.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_UPSTREAM_RECONNECTED"
    await wait_until(lambda: broker.active == 3)
    assert len(broker.init_payloads) == connections + 2 and stats.connections == 1
    broker.publish("1", "together")
    for stream in (priced, named, events):
        message = await receive(stream)
        assert next(iter(message.payload["data"].values()))["name"] == "together"
    # one stopped subscription leaves the connection to the others; the last one closes it
    await named.aclose()
    await wait_until(lambda: broker.active == 2)
    assert stats.connections == 1
    await priced.aclose()
    await events.aclose()
    await wait_until(lambda: broker.active == 0 and stats.connections == 0)


async def test_a_full_connection_opens_another(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(upstream_max_operations=1)
    broker, stats = harness.stubs.broker, harness.service.stats
    first = await opened(harness, ITEM_WITH_PRICE)
    second = await opened(harness, 'subscription { itemChanged(id: "1") { name } }')
    await wait_until(lambda: broker.active == 2)
    assert stats.connections == 2
    await first.aclose()
    await second.aclose()
    await wait_until(lambda: stats.connections == 0)


async def test_the_supergraph_watcher_reload_reaches_running_subscriptions(
        make_harness: Callable[..., Harness], tmp_path: Path) -> None:
    """``gateway serve``'s hot reload path: the watcher installs the new file's runtime, the
    service re-prepares: a subscription asking for a field that is gone ends."""
    harness = make_harness()
    path = tmp_path / "supergraph.graphql"
    path.write_text(harness.stubs.supergraph())
    watcher = SupergraphWatcher(path, harness.state, gateway_runtime_factory(Settings()), 0)
    await watcher.check()  # the text the harness installed already: nothing new
    priced = await opened(harness, ITEM_WITH_PRICE)
    await wait_until(lambda: harness.stubs.broker.active == 1)
    path.write_text(harness.stubs.supergraph(renamed=True) + "\n")
    assert await watcher.check()
    ended = await receive(priced)
    assert ended.final and ended.payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_SCHEMA_RELOAD"


async def test_an_open_cancelled_while_attaching_leaves_nothing_behind(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(resume_window=0.2)
    broker = harness.stubs.broker
    stream = await opened(harness, ITEM_WITH_PRICE)
    await wait_until(lambda: broker.active == 1)
    upstream = harness.service.streams[0]
    async with upstream._lock:  # an event being completed holds the stream: the next open waits
        pending = asyncio.ensure_future(harness.service.open(GraphQLRequest(ITEM_WITH_PRICE), principal=ALICE,
                                                             headers=HEADERS))
        await asyncio.sleep(0.05)
        assert harness.service.stats.subscribers == 2
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
    assert harness.service.stats.subscribers == 1
    await stream.aclose()
    await wait_until(lambda: broker.active == 0 and harness.service.stats.subscribers == 0)
