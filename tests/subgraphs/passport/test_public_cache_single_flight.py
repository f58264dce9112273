"""Concurrent misses of one public uuid share one load ("single flight").

The QR path's burst on a cold uuid used to run one database read per request. Now the first miss
loads and the others wait for its outcome: the view, or the same error (a copy each, so no task's
frames pile up on one traceback). When the loading request is cancelled, a waiter loads with its own
request; a request that arrives after an invalidation never joins a load started before it.

The unit tests drive :class:`PublicViewCache` with :class:`Gate`, a real coroutine that waits for the
test to open it; the last tests count statements of a real passport subgraph and commands of a real Redis.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from subgraphs.common import demo
from subgraphs.common.errors import NotFound, not_found
from subgraphs.passport.domain import PublicView
from subgraphs.passport.public_cache import PublicViewCache
from tests.subgraphs.passport.conftest import PassportServer, made_up_view
from tests.support.redis import RedisServer


class Gate:
    """A load function that counts its calls and finishes when the test opens it."""

    def __init__(self, view: PublicView | None = None, error: Exception | None = None) -> None:
        self.view = view if view is not None else made_up_view()
        self.error = error
        self.calls = 0
        self.opened = asyncio.Event()

    async def __call__(self) -> PublicView:
        self.calls += 1
        await self.opened.wait()
        if self.error is not None:
            raise self.error
        return self.view


async def _settle() -> None:
    """Let every task run until it waits (for a gate or for another's load)."""
    for _ in range(20):
        await asyncio.sleep(0)


def _calls(gates: list[Gate]) -> int:
    return sum(g.calls for g in gates)


def _run(test: Callable[[PublicViewCache], Awaitable[Any]], redis_url: str | None = None) -> Any:
    async def run() -> Any:
        cache = PublicViewCache(100, 60, redis_url)
        try:
            return await test(cache)
        finally:
            await cache.aclose()

    return asyncio.run(run())


def test_concurrent_misses_share_one_load() -> None:
    async def test(cache: PublicViewCache) -> None:
        gates = [Gate() for _ in range(8)]
        tasks = [asyncio.create_task(cache.get("u-1", gate)) for gate in gates]
        await _settle()
        assert _calls(gates) == 1  # one load; seven wait for it
        assert cache.in_flight == 1
        for gate in gates:
            gate.opened.set()
        assert await asyncio.gather(*tasks) == [made_up_view()] * 8
        assert (cache.hits, cache.misses, cache.shared, cache.in_flight) == (0, 1, 7, 0)
        # Kept: the next read is a hit, no load.
        assert await cache.get("u-1", Gate(error=RuntimeError("not called"))) == made_up_view()

    _run(test)


def test_the_loads_error_reaches_every_waiter_as_that_error() -> None:
    async def test(cache: PublicViewCache) -> None:
        gates = [Gate(error=not_found("Passport", "nope")) for _ in range(6)]
        tasks = [asyncio.create_task(cache.get("nope", gate)) for gate in gates]
        await _settle()
        assert _calls(gates) == 1
        for gate in gates:
            gate.opened.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [e for e in outcomes if isinstance(e, NotFound)]
        assert len(errors) == len(outcomes), outcomes
        codes = {(e.code, e.message, repr(e.extensions)) for e in errors}
        assert codes == {("NOT_FOUND", "Passport 'nope' not found", "{'kind': 'Passport', 'id': 'nope'}")}
        # Each waiter raised its own copy: no traceback grew by the others' frames, none chains another.
        waiters = errors[1:]
        assert len({id(e) for e in errors}) == len(errors)
        depths = {len(traceback.extract_tb(e.__traceback__)) for e in waiters}
        assert len(depths) == 1 and depths.pop() <= 3, [traceback.format_tb(e.__traceback__) for e in waiters]
        assert all(e.__cause__ is None and e.__context__ is None for e in waiters)
        assert (cache.in_flight, len(cache)) == (0, 0)
        # An error is not kept: the next miss loads again.
        again = Gate(error=not_found("Passport", "nope"))
        again.opened.set()
        with pytest.raises(NotFound):
            await cache.get("nope", again)
        assert again.calls == 1

    _run(test)


def test_a_cancelled_loader_hands_the_load_to_a_waiter() -> None:
    """The loading request's client went away: the waiters do not fail, one of them loads (its own session)."""

    async def test(cache: PublicViewCache) -> None:
        gates = [Gate() for _ in range(6)]
        tasks = [asyncio.create_task(cache.get("u-1", gate)) for gate in gates]
        await _settle()
        assert [g.calls for g in gates] == [1, 0, 0, 0, 0, 0]
        tasks[0].cancel()
        await _settle()
        assert tasks[0].cancelled()
        taken = [i for i, g in enumerate(gates) if g.calls]
        assert len(taken) == 2 and cache.in_flight == 1, taken  # one waiter took over, the rest wait for it
        # That one is cancelled too: yet another loads.
        tasks[taken[1]].cancel()
        await _settle()
        taken = [i for i, g in enumerate(gates) if g.calls]
        assert len(taken) == 3, taken
        for gate in gates:
            gate.opened.set()
        rest = [t for i, t in enumerate(tasks) if i not in taken[:2]]
        assert await asyncio.gather(*rest) == [made_up_view()] * 4
        assert (_calls(gates), cache.in_flight, len(cache)) == (3, 0, 1)

    _run(test)


@pytest.mark.parametrize("invalidate", ["drop", "drop-all", "forget"])
def test_a_load_started_before_an_invalidation_is_not_shared_after_it(invalidate: str) -> None:
    async def test(cache: PublicViewCache) -> None:
        early = [Gate(made_up_view(status="PUBLISHED")) for _ in range(3)]
        early_tasks = [asyncio.create_task(cache.get("u-1", gate)) for gate in early]
        await _settle()
        if invalidate == "drop":
            cache.drop("u-1")
        elif invalidate == "drop-all":
            cache.drop()
        else:
            await cache.forget("u-1")
        late = [Gate(made_up_view(status="REVOKED")) for _ in range(3)]
        late_tasks = [asyncio.create_task(cache.get("u-1", gate)) for gate in late]
        await _settle()
        # The early requests share the old load; the late ones a fresh one of their own.
        assert (_calls(early), _calls(late)) == (1, 1)
        for gate in early:
            gate.opened.set()
        assert [v.status for v in await asyncio.gather(*early_tasks)] == ["PUBLISHED"] * 3
        assert len(cache) == 0  # the old view is not kept
        for gate in late:
            gate.opened.set()
        assert [v.status for v in await asyncio.gather(*late_tasks)] == ["REVOKED"] * 3
        assert (await cache.get("u-1", Gate(error=RuntimeError("not called")))).status == "REVOKED"
        assert cache.in_flight == 0

    _run(test)


def test_no_flight_is_left_behind() -> None:
    """Many concurrent misses of several uuids, ending in views, errors and cancellations: the map empties."""

    async def test(cache: PublicViewCache) -> None:
        gates: list[Gate] = []
        tasks = []
        for i in range(60):
            uuid = f"u-{i % 6}"
            gate = Gate(made_up_view(uuid)) if i % 6 < 3 else Gate(error=not_found("Passport", uuid))
            gates.append(gate)
            tasks.append(asyncio.create_task(cache.get(uuid, gate)))
        await _settle()
        assert (_calls(gates), cache.in_flight) == (6, 6)
        for task in tasks[:6]:  # every loader: a waiter of each uuid takes over
            task.cancel()
        await _settle()
        assert (_calls(gates), cache.in_flight) == (12, 6)
        for gate in gates:
            gate.opened.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert sum(isinstance(o, asyncio.CancelledError) for o in outcomes) == 6
        assert sum(isinstance(o, PublicView) for o in outcomes) == 27
        assert sum(isinstance(o, NotFound) for o in outcomes) == 27
        assert (cache.in_flight, len(cache)) == (0, 3)

    _run(test)


def test_with_redis_one_lookup_and_one_write_per_flight(redis_server: RedisServer) -> None:
    async def test(cache: PublicViewCache) -> None:
        admin = aioredis.from_url(redis_server.url)
        try:
            await admin.config_resetstat()
            gates = [Gate() for _ in range(8)]
            tasks = [asyncio.create_task(cache.get("u-1", gate)) for gate in gates]
            await asyncio.sleep(0.2)  # all eight wait: for the Redis lookup, then for the load
            for gate in gates:
                gate.opened.set()
            assert await asyncio.gather(*tasks) == [made_up_view()] * 8
            stats = await admin.info("commandstats")
        finally:
            await admin.aclose()
        calls = {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("mget", "set")}
        assert (calls, _calls(gates)) == ({"mget": 1, "set": 1}, 1)
        assert cache.in_flight == 0

    _run(test, redis_server.fresh_url())


# -- a real passport subgraph -------------------------------------------------------------------

BY_NAME = {p.name: p for p in demo.PASSPORTS}
PUBLIC = """query($uuid: String!) { publicPassport(uuid: $uuid) { uuid name status version fields { key value } } }"""


async def _burst(url: str, uuid: str, n: int) -> list[dict[str, Any]]:
    """``n`` publicPassport requests for ``uuid`` at once, each on its own connection."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        body = {"query": PUBLIC, "variables": {"uuid": uuid}}
        answers = await asyncio.gather(*(client.post(url, json=body) for _ in range(n)))
    return [a.json() for a in answers]


def test_a_burst_on_a_cold_uuid_costs_one_load(passport: PassportServer) -> None:
    # What one cold read costs (another published passport, read alone).
    before = passport.statements()
    alone = passport.data(PUBLIC, {"uuid": BY_NAME["ACME_CELL_PACK_02"].public_uuid})["publicPassport"]
    one_load = passport.statements() - before
    assert alone["status"] and one_load > 0

    uuid = BY_NAME["ACME_CELL_PACK_01"].public_uuid
    before = passport.statements()
    bodies = asyncio.run(_burst(passport.url, uuid, 16))
    assert passport.statements() - before == one_load
    assert all("errors" not in b for b in bodies), bodies
    assert {b["data"]["publicPassport"]["uuid"] for b in bodies} == {uuid}
    assert len({repr(b) for b in bodies}) == 1

    # An unknown uuid: NOT_FOUND for every request of the burst (errors are shared, not kept).
    for body in asyncio.run(_burst(passport.url, "no-such-uuid", 16)):
        assert body["data"] == {"publicPassport": None} or body.get("data") is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"], body
        assert "Traceback" not in repr(body)
