"""Coalescing (gateway/coalescing.py): concurrent identical queries share one execution of their plan.

Through the real runtime and transport against the real flaky subgraph (tests/support/flaky_subgraph.py),
with the transport's own fetch deduplication off, so a count of one request at the subgraph is the
coalescing's doing. The subgraph answers slowly, so the concurrent callers overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from gateway.contracts import ANONYMOUS, GraphQLRequest, Principal
from gateway.resilience import BreakerConfig, Resilience, ResilienceConfig, RetryConfig
from gateway.runtime import Gateway
from gateway.serve import gateway_runtime_factory
from gateway.settings import Settings
from gateway.transport import HTTPTransport
from tests.support.flaky_subgraph import FlakySubgraph, flaky_subgraph

SLOW = 0.3


@pytest.fixture(scope="module")
def flaky() -> Iterator[FlakySubgraph]:
    yield from flaky_subgraph()


@pytest.fixture
def subgraph(flaky: FlakySubgraph) -> FlakySubgraph:
    flaky.set("slow", delay=SLOW)
    return flaky


@pytest.fixture
def gateway(flaky: FlakySubgraph) -> Gateway:
    return Gateway.from_supergraph_sdl(flaky.supergraph_sdl(), coalesce=True)


@pytest.fixture
async def transport() -> AsyncIterator[HTTPTransport]:
    # no fetch deduplication: only the coalescing can make concurrent callers share a request
    t = HTTPTransport(resilience=Resilience(ResilienceConfig(BreakerConfig(enabled=False), RetryConfig(attempts=0),
                                                             False)))
    yield t
    await t.aclose()


async def run(gateway: Gateway, transport: HTTPTransport, query: str, variables: dict[str, Any] | None = None,
              principal: Principal = ANONYMOUS, headers: dict[str, str] | None = None) -> dict[str, Any]:
    outcome = await gateway.execute(GraphQLRequest(query, variables=variables), transport=transport,
                                    headers=headers or {}, principal=principal)
    return outcome.to_response()


async def test_concurrent_identical_queries_share_one_execution(
    gateway: Gateway, subgraph: FlakySubgraph, transport: HTTPTransport
) -> None:
    answers = await asyncio.gather(*(run(gateway, transport, "{ who hello }", headers={"authorization": "Bearer a"})
                                     for _ in range(10)))
    assert answers == [{"data": {"who": "Bearer a", "hello": "world"}}] * 10
    assert subgraph.queries == 1
    assert gateway.coalescer is not None and gateway.coalescer.shared == 9
    assert len(gateway.coalescer) == 0  # nothing left in flight


async def test_identities_variables_and_principals_are_never_shared(
    gateway: Gateway, subgraph: FlakySubgraph, transport: HTTPTransport
) -> None:
    query = "query($x: Boolean!) { who hello @include(if: $x) }"
    member = Principal(authenticated=True, user_id="u1")
    a = {"authorization": "Bearer a"}
    calls = [run(gateway, transport, query, {"x": True}, headers={"authorization": f"Bearer {w}"}) for w in "abab"]
    calls += [run(gateway, transport, query, {"x": True}, headers={**a, "x-tenant-id": "t2"}) for _ in range(2)]
    calls += [run(gateway, transport, query, {"x": False}, headers=a) for _ in range(2)]
    calls += [run(gateway, transport, query, {"x": True}, member, headers=a) for _ in range(2)]
    answers = await asyncio.gather(*calls)
    assert [a["data"]["who"] for a in answers] == [f"Bearer {w}" for w in "abab"] + ["Bearer a"] * 6
    assert [("hello" in a["data"]) for a in answers] == [True] * 6 + [False] * 2 + [True] * 2
    # a, b, a with a tenant, a without hello, a as another principal
    assert subgraph.queries == 5
    assert gateway.coalescer is not None and gateway.coalescer.shared == 5


async def test_request_ids_do_not_prevent_sharing(
    gateway: Gateway, subgraph: FlakySubgraph, transport: HTTPTransport
) -> None:
    answers = await asyncio.gather(*(run(gateway, transport, "{ hello }", headers={"x-request-id": str(n)})
                                     for n in range(5)))
    assert answers == [{"data": {"hello": "world"}}] * 5
    assert subgraph.queries == 1


async def test_mutations_are_never_shared(gateway: Gateway, subgraph: FlakySubgraph, transport: HTTPTransport) -> None:
    answers = await asyncio.gather(*(run(gateway, transport, "mutation { bump }") for _ in range(4)))
    assert subgraph.mutations == 4
    assert len({a["data"]["bump"] for a in answers}) == 4


async def test_without_coalescing_every_caller_runs_its_own(
    flaky: FlakySubgraph, subgraph: FlakySubgraph, transport: HTTPTransport
) -> None:
    plain = Gateway.from_supergraph_sdl(flaky.supergraph_sdl())
    assert plain.coalescer is None
    answers = await asyncio.gather(*(run(plain, transport, "{ hello }") for _ in range(4)))
    assert answers == [{"data": {"hello": "world"}}] * 4
    assert subgraph.queries == 4
    answers[0]["data"]["hello"] = "changed"  # outcomes of their own
    assert answers[1]["data"]["hello"] == "world"


async def test_a_caller_that_goes_away_does_not_cancel_the_shared_execution(
    gateway: Gateway, subgraph: FlakySubgraph, transport: HTTPTransport
) -> None:
    first = asyncio.ensure_future(run(gateway, transport, "{ hello }"))
    await asyncio.sleep(0.1)
    second = asyncio.ensure_future(run(gateway, transport, "{ hello }"))
    await asyncio.sleep(0.05)
    first.cancel()
    assert await second == {"data": {"hello": "world"}}
    assert subgraph.queries == 1


async def test_an_execution_nobody_waits_for_any_more_is_cancelled(
    gateway: Gateway, subgraph: FlakySubgraph, transport: HTTPTransport
) -> None:
    coalescer = gateway.coalescer
    assert coalescer is not None
    first = asyncio.ensure_future(run(gateway, transport, "{ hello }"))
    second = asyncio.ensure_future(run(gateway, transport, "{ hello }"))
    await asyncio.sleep(0.1)
    assert len(coalescer) == 1 and coalescer.shared == 1
    first.cancel()
    second.cancel()  # the last caller goes (its router timeout, its client): the execution is cancelled
    await asyncio.gather(first, second, return_exceptions=True)
    assert len(coalescer) == 0
    # an identical query now starts afresh instead of joining the cancelled one
    assert await run(gateway, transport, "{ hello }") == {"data": {"hello": "world"}}
    assert subgraph.queries == 2 and coalescer.shared == 1


async def test_an_operation_without_fetches_is_not_coalesced(
    gateway: Gateway, subgraph: FlakySubgraph, transport: HTTPTransport
) -> None:
    answers = await asyncio.gather(*(run(gateway, transport, "{ __typename }") for _ in range(4)))
    assert answers == [{"data": {"__typename": "Query"}}] * 4
    assert gateway.coalescer is not None and gateway.coalescer.shared == 0  # nothing to share: no task either


async def test_a_later_identical_query_runs_again(
    gateway: Gateway, subgraph: FlakySubgraph, transport: HTTPTransport
) -> None:
    subgraph.set("ok")
    assert await run(gateway, transport, "{ hello }") == {"data": {"hello": "world"}}
    assert await run(gateway, transport, "{ hello }") == {"data": {"hello": "world"}}
    assert subgraph.queries == 2  # nothing is cached: only executions in flight are shared


@pytest.mark.parametrize("dedup", [True, False])
def test_gateway_serve_coalesces_when_queries_are_deduplicated(flaky: FlakySubgraph, dedup: bool) -> None:
    runtime = gateway_runtime_factory(Settings(dedup_queries=dedup))(flaky.supergraph_sdl())
    assert isinstance(runtime, Gateway)
    assert (runtime.coalescer is not None) is dedup
