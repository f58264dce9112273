"""The event buses themselves: ids, bounded queues, and the Redis Streams reader resuming after a lost connection."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from subgraphs.common.events import Dropped, Event, EventBus, RedisEventBus, draft
from tests.support.redis import RedisServer


def ids(event: Event) -> tuple[int, int]:
    ms, seq = event.id.split("-")
    return int(ms), int(seq)


async def test_in_process_ids_increase_and_a_full_queue_drops_the_oldest() -> None:
    bus = EventBus(queue_size=3)
    everything = bus.subscribe(lambda event: True)
    only_b = bus.subscribe(lambda event: event.key == "b")
    published = await bus.publish([draft("Product", key, "updated", "t-1") for key in "abcdeb"])
    assert [ids(e) for e in published] == sorted(ids(e) for e in published)
    assert len({e.id for e in published}) == 6
    assert await everything.get(0) == Dropped(3)
    assert [(await everything.get(0)).key for _ in range(3)] == ["d", "e", "b"]  # type: ignore[union-attr]
    assert await everything.get(0.05) is None
    assert [(await only_b.get(0)).key for _ in range(2)] == ["b", "b"]  # type: ignore[union-attr]
    bus.unsubscribe(everything)
    await bus.publish([draft("Product", "f", "created", "t-1")])
    assert await everything.get(0.05) is None
    assert bus.subscriber_count == 1
    await bus.aclose()


async def test_the_redis_reader_resumes_after_the_last_id_it_saw(redis_server: RedisServer) -> None:
    url = redis_server.fresh_url()
    reader = RedisEventBus(url, "dpp:events:test")
    publisher = RedisEventBus(url, "dpp:events:test")
    subscriber = reader.subscribe(lambda event: event.tenant_id == "t-1")
    try:
        await reader.ready()
        first = (await publisher.publish([draft("Passport", "p-1", "updated", "t-1", status="DRAFT")]))[0]
        received = await subscriber.get(5)
        assert received == first and received.attributes == {"status": "DRAFT"}
        # Cut every connection but this one (the reader's blocked XREAD among them), then publish while it is gone.
        admin = aioredis.from_url(url)
        try:
            await admin.client_kill_filter(_type="normal", skipme=True)
            published = await publisher.publish(
                [draft("Passport", "p-2", "published", "t-1"), draft("Passport", "x", "updated", "t-2")]
            )
        finally:
            await admin.aclose()
        again = await subscriber.get(10)
        assert isinstance(again, Event) and again.id == published[0].id and again.kind == "published"
        assert await subscriber.get(0.2) is None, "the other tenant's event was filtered out"
        assert ids(first) < ids(again)
    finally:
        await reader.aclose()
        await publisher.aclose()
        await asyncio.sleep(0)
