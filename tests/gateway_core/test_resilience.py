"""Resilience towards subgraphs, through the real runtime and transport against a real flaky subgraph.

The subgraph (tests/support/flaky_subgraph.py) counts every request it receives before
it misbehaves, so "no request reached it" is a count that did not move. Timing only
appears as generous bounds (a cool-down is waited for by polling the circuit state).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from gateway.contracts import GraphQLRequest
from gateway.resilience import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    SUBGRAPH_CIRCUIT_OPEN,
    BreakerConfig,
    Resilience,
    ResilienceConfig,
    RetryConfig,
)
from gateway.runtime import Gateway
from gateway.transport import HTTPTransport
from tests.support.flaky_subgraph import FlakySubgraph, flaky_subgraph

NO_RETRY = RetryConfig(attempts=0)
FAST_RETRY = RetryConfig(attempts=2, backoff=0.001, max_backoff=0.01)
SMALL_BREAKER = BreakerConfig(min_requests=4, error_rate=0.5, cooldown=0.5, half_open_probes=2)


@pytest.fixture(scope="module")
def flaky() -> Iterator[FlakySubgraph]:
    yield from flaky_subgraph()


@pytest.fixture
def subgraph(flaky: FlakySubgraph) -> FlakySubgraph:
    flaky.set("ok")
    return flaky


@pytest.fixture(scope="module")
def gateway(flaky: FlakySubgraph) -> Gateway:
    return Gateway.from_supergraph_sdl(flaky.supergraph_sdl())


def transport(
    breaker: BreakerConfig = BreakerConfig(enabled=False), retry: RetryConfig = NO_RETRY, dedup: bool = False
) -> HTTPTransport:
    return HTTPTransport(resilience=Resilience(ResilienceConfig(breaker, retry, dedup)))


async def run(gateway: Gateway, transport: HTTPTransport, query: str, **headers: str) -> dict[str, Any]:
    outcome = await gateway.execute(GraphQLRequest(query), transport=transport, headers=headers)
    return outcome.to_response()


def codes(response: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in response.get("errors", [])]


@pytest.fixture
async def closing() -> AsyncIterator[list[HTTPTransport]]:
    opened: list[HTTPTransport] = []
    yield opened
    for t in opened:
        await t.aclose()


# -- circuit breaker -------------------------------------------------------------------------------


async def test_breaker_opens_fails_fast_with_partial_data_then_half_opens_and_closes(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(SMALL_BREAKER)
    closing.append(t)
    subgraph.set("503")
    for _ in range(4):
        answer = await run(gateway, t, "{ hello steady }")
        assert codes(answer) == ["SUBGRAPH_FETCH_FAILED"]
    assert subgraph.requests == 4
    assert t.circuit_states()["flaky"].state == OPEN

    # open: no request reaches the subgraph, the rest of the operation is answered
    started = time.monotonic()
    answer = await run(gateway, t, "{ hello steady }")
    assert time.monotonic() - started < 0.4  # fast, well under the cool-down
    assert subgraph.requests == 4
    assert answer["data"] == {"hello": None, "steady": "fine"}
    assert answer["errors"] == [{
        "message": "Subgraph 'flaky' is unavailable: circuit breaker open",
        "path": ["hello"],
        "extensions": {"code": SUBGRAPH_CIRCUIT_OPEN, "serviceName": "flaky"},
    }]

    # after the cool-down, probes go through; two successes close the circuit
    subgraph.set("ok")
    await asyncio.sleep(0.6)
    answer = await run(gateway, t, "{ hello }")
    assert answer == {"data": {"hello": "world"}}
    assert t.circuit_states()["flaky"].state == HALF_OPEN
    answer = await run(gateway, t, "{ hello }")
    assert answer == {"data": {"hello": "world"}}
    assert t.circuit_states()["flaky"].state == CLOSED
    assert subgraph.requests == 2


async def test_a_failed_probe_opens_the_circuit_again(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(SMALL_BREAKER)
    closing.append(t)
    subgraph.set("close")  # dropped connections count as failures too
    for _ in range(4):
        await run(gateway, t, "{ hello }")
    assert t.circuit_states()["flaky"].state == OPEN
    await asyncio.sleep(0.6)
    answer = await run(gateway, t, "{ hello }")
    assert codes(answer) == ["SUBGRAPH_FETCH_FAILED"]  # the probe went and failed
    assert subgraph.requests == 5
    snapshot = t.circuit_states()["flaky"]
    assert snapshot.state == OPEN
    assert snapshot.opened == 2
    assert codes(await run(gateway, t, "{ hello }")) == [SUBGRAPH_CIRCUIT_OPEN]
    assert subgraph.requests == 5


async def test_breaker_needs_the_minimum_volume_and_ignores_4xx_like_successes(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(BreakerConfig(min_requests=10, error_rate=0.5, cooldown=30))
    closing.append(t)
    subgraph.set("503")
    for _ in range(9):
        await run(gateway, t, "{ hello }")
    assert t.circuit_states()["flaky"].state == CLOSED  # 9 failures, below the volume
    subgraph.set("ok")
    for _ in range(10):
        assert (await run(gateway, t, "{ hello }"))["data"] == {"hello": "world"}
    subgraph.set("503")
    await run(gateway, t, "{ hello }")
    # 10 failures of 20: at the threshold
    assert t.circuit_states()["flaky"].state == OPEN


# -- retries --------------------------------------------------------------------------------------


async def test_a_query_recovers_from_transient_503s_and_dropped_connections(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(retry=FAST_RETRY)
    closing.append(t)
    subgraph.set("503", n=2)
    assert await run(gateway, t, "{ hello steady }") == {"data": {"hello": "world", "steady": "fine"}}
    assert subgraph.queries == 3
    subgraph.set("close", n=1)
    assert await run(gateway, t, "{ hello }") == {"data": {"hello": "world"}}
    assert subgraph.queries == 2
    subgraph.set("503", n=3)  # more failures than retries
    assert codes(await run(gateway, t, "{ hello }")) == ["SUBGRAPH_FETCH_FAILED"]
    assert subgraph.queries == 3


async def test_a_mutation_is_never_retried(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(retry=FAST_RETRY)
    closing.append(t)
    subgraph.set("503", n=1)
    answer = await run(gateway, t, "mutation { bump }")
    assert codes(answer) == ["SUBGRAPH_FETCH_FAILED"]
    assert answer["data"] == {"bump": None}
    assert subgraph.mutations == 1
    subgraph.set("close", n=1)
    assert codes(await run(gateway, t, "mutation { bump }")) == ["SUBGRAPH_FETCH_FAILED"]
    assert subgraph.mutations == 1


async def test_retry_after_is_honoured_within_its_cap(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(retry=RetryConfig(attempts=2, backoff=0.001, max_backoff=0.01, max_retry_after=2.0))
    closing.append(t)
    subgraph.set("503", n=1, retry_after="1")
    started = time.monotonic()
    assert await run(gateway, t, "{ hello }") == {"data": {"hello": "world"}}
    assert time.monotonic() - started >= 0.9  # waited as asked, not the 10 ms backoff
    assert subgraph.queries == 2
    subgraph.set("503", n=1, retry_after="120")  # longer than the cap: answered at once
    started = time.monotonic()
    assert codes(await run(gateway, t, "{ hello }")) == ["SUBGRAPH_FETCH_FAILED"]
    assert time.monotonic() - started < 5
    assert subgraph.queries == 1


async def test_retries_stay_within_the_subgraph_timeout(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = HTTPTransport(timeouts={"flaky": 0.5}, resilience=Resilience(ResilienceConfig(
        BreakerConfig(enabled=False), RetryConfig(attempts=5, backoff=0.001, max_retry_after=10), False)))
    closing.append(t)
    subgraph.set("503", retry_after="1")  # a retry would end after the fetch's deadline
    assert codes(await run(gateway, t, "{ hello }")) == ["SUBGRAPH_FETCH_FAILED"]
    assert subgraph.queries == 1


async def test_the_retry_budget_stops_a_retry_storm(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    storm = RetryConfig(attempts=3, backoff=0.001, max_backoff=0.001, budget_ratio=1.0, budget_min_per_second=100)
    budgeted = RetryConfig(attempts=3, backoff=0.001, max_backoff=0.001, budget_ratio=0.1, budget_min_per_second=0)
    subgraph.set("503")
    unbounded = transport(retry=storm)
    closing.append(unbounded)
    for _ in range(20):
        await run(gateway, unbounded, "{ hello }")
    assert subgraph.queries == 80  # every query tried four times
    subgraph.set("503")
    bounded = transport(retry=budgeted)
    closing.append(bounded)
    for _ in range(20):
        await run(gateway, bounded, "{ hello }")
    assert 20 <= subgraph.queries <= 23  # retries add at most 10 % of the 20 first attempts


# -- in-flight deduplication -----------------------------------------------------------------------


async def test_concurrent_identical_queries_share_one_request(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(dedup=True)
    closing.append(t)
    subgraph.set("slow", delay=0.3)
    answers = await asyncio.gather(*(run(gateway, t, "{ who }", authorization="Bearer a") for _ in range(10)))
    assert all(a == {"data": {"who": "Bearer a"}} for a in answers)
    assert subgraph.queries == 1


async def test_different_identities_are_never_shared(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(dedup=True)
    closing.append(t)
    subgraph.set("slow", delay=0.3)
    calls = [run(gateway, t, "{ who }", authorization=f"Bearer {who}") for who in "abab" * 3]
    calls += [run(gateway, t, "{ who }", authorization="Bearer a", **{"x-tenant-id": "t2"}) for _ in range(3)]
    answers = await asyncio.gather(*calls)
    assert [a["data"]["who"] for a in answers] == [f"Bearer {w}" for w in "abab" * 3] + ["Bearer a"] * 3
    assert subgraph.queries == 3
    assert sorted(str(a) for a in subgraph.authorizations) == ["Bearer a", "Bearer a", "Bearer b"]


async def test_request_ids_do_not_prevent_sharing_and_answers_are_independent_copies(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(dedup=True)
    closing.append(t)
    subgraph.set("slow", delay=0.3)
    answers = await asyncio.gather(
        *(run(gateway, t, "{ hello steady }", **{"x-request-id": str(n)}) for n in range(5))
    )
    assert subgraph.queries == 1
    answers[0]["data"]["hello"] = "changed"
    assert [a["data"]["hello"] for a in answers[1:]] == ["world"] * 4


async def test_mutations_and_disabled_dedup_are_not_shared(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(dedup=True)
    off = transport(dedup=False)
    closing.extend([t, off])
    subgraph.set("slow", delay=0.3)
    answers = await asyncio.gather(*(run(gateway, t, "mutation { bump }") for _ in range(4)))
    assert subgraph.mutations == 4
    assert len({a["data"]["bump"] for a in answers}) == 4
    subgraph.set("slow", delay=0.3)
    await asyncio.gather(*(run(gateway, off, "{ hello }") for _ in range(4)))
    assert subgraph.queries == 4


async def test_a_caller_that_goes_away_does_not_cancel_the_shared_request(
    gateway: Gateway, subgraph: FlakySubgraph, closing: list[HTTPTransport]
) -> None:
    t = transport(dedup=True)
    closing.append(t)
    subgraph.set("slow", delay=0.3)
    first = asyncio.ensure_future(run(gateway, t, "{ hello }"))
    await asyncio.sleep(0.1)
    second = asyncio.ensure_future(run(gateway, t, "{ hello }"))
    await asyncio.sleep(0.05)
    first.cancel()
    assert await second == {"data": {"hello": "world"}}
    assert subgraph.queries == 1
