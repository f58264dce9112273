"""Rate limits at the edge: the counters (in memory, in a real Redis) and 429 RATE_LIMITED through
served gateways, per client address for anonymous callers and per tenant for signed-in ones, with
two gateways sharing one Redis counting together."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.auth.ratelimit import MemoryRateLimiter, RedisRateLimiter
from tests.support.oidc_issuer import OidcIssuer
from tests.support.redis import RedisServer
from tests.support.request_id import expected

from .conftest import trusting
from .harness import SDL_V1, EchoSubgraph, RunningGateway, closed_port, running_gateway


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def ask(client: httpx.Client, gw: RunningGateway, token: str | None = None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return client.post(
        gw.graphql, content=b'{"query": "{ forwarded }"}', headers={"content-type": "application/json", **headers}
    )


def assert_limited(response: httpx.Response, window: float) -> int:
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window
    body = response.json()
    assert body == expected(
        {
            "errors": [
                {
                    "message": f"Rate limit exceeded; retry in {retry_after} s",
                    "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
                }
            ]
        },
        response,
    )
    return retry_after


# -- the counters ---------------------------------------------------------------------------------


async def test_memory_counter_allows_the_limit_then_refuses_until_the_window_ends() -> None:
    limiter = MemoryRateLimiter(window=0.3)
    decisions = [await limiter.hit("tenant:a", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4]
    assert decisions[-1].retry_after == 1
    assert (await limiter.hit("tenant:b", 3)).allowed  # another key, its own window
    await asyncio.sleep(0.35)
    assert (await limiter.hit("tenant:a", 3)).count == 1  # a new window


async def test_memory_counter_is_bounded() -> None:
    limiter = MemoryRateLimiter(window=60, max_keys=3)
    for n in range(10):
        await limiter.hit(f"addr:10.0.0.{n}", 5)
    assert len(limiter) <= 3
    assert (await limiter.hit("addr:10.0.0.9", 5)).count == 2  # the newest keys are kept


async def test_redis_counters_are_shared_and_expire(redis_server: RedisServer) -> None:
    url = redis_server.fresh_url()
    one, two = RedisRateLimiter(url, window=1.0), RedisRateLimiter(url, window=1.0)
    try:
        assert [(await one.hit("tenant:a", 3)).count, (await two.hit("tenant:a", 3)).count] == [1, 2]
        assert (await one.hit("tenant:a", 3)).allowed
        refused = await two.hit("tenant:a", 3)
        assert not refused.allowed and refused.retry_after == 1
        import redis.asyncio as aioredis

        raw = aioredis.from_url(url)
        ttl = await raw.pttl("dpp:gateway:ratelimit:tenant:a")
        await raw.aclose()
        assert 0 < ttl <= 1000  # every counter carries its expiry
        await asyncio.sleep(1.1)
        assert (await two.hit("tenant:a", 3)).count == 1
    finally:
        await one.aclose()
        await two.aclose()


async def test_an_unreachable_redis_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    with closed_port() as port:
        limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0", window=60)
        try:
            decisions = [await limiter.hit("tenant:a", 1) for _ in range(3)]
        finally:
            await limiter.aclose()
    assert all(d.allowed for d in decisions)
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once per window, not once per request


# -- through a served gateway ---------------------------------------------------------------------


def test_anonymous_callers_are_limited_per_client_address(
    tmp_path: Path, client: httpx.Client, echo_subgraph: EchoSubgraph
) -> None:
    with running_gateway(
        tmp_path, SDL_V1, echo_url=f"{echo_subgraph.url}/graphql", rate_limit_anonymous=2, rate_limit_window=30
    ) as gw:
        first = ask(client, gw)
        assert first.status_code == 200
        # uvicorn resolves x-forwarded-for from a trusted proxy (loopback by default) into the
        # client address; the subgraph gets the address the edge saw, not the client's header.
        assert orjson.loads(first.json()["data"]["forwarded"])["x-forwarded-for"] == "127.0.0.1"
        assert ask(client, gw).status_code == 200
        assert_limited(ask(client, gw), 30)
        behind_proxy = ask(client, gw, **{"x-forwarded-for": "203.0.113.7"})
        assert behind_proxy.status_code == 200
        assert orjson.loads(behind_proxy.json()["data"]["forwarded"])["x-forwarded-for"] == "203.0.113.7"
        assert_limited(ask(client, gw), 30)


def test_signed_in_callers_are_limited_per_tenant(
    tmp_path: Path, client: httpx.Client, echo_subgraph: EchoSubgraph, token_issuer: OidcIssuer
) -> None:
    alice = token_issuer.issue(sub="alice", tid="tenant-a")
    bob = token_issuer.issue(sub="bob", tid="tenant-a")
    carol = token_issuer.issue(sub="carol", tid="tenant-b")
    with running_gateway(
        tmp_path,
        SDL_V1,
        echo_url=f"{echo_subgraph.url}/graphql",
        auth_issuers=trusting(token_issuer),
        rate_limit_standard=3,
        rate_limit_anonymous=1,
    ) as gw:
        assert [ask(client, gw, alice).status_code for _ in range(2)] == [200, 200]
        assert ask(client, gw, bob).status_code == 200  # same tenant: the same budget
        assert_limited(ask(client, gw, bob), 60)
        assert_limited(ask(client, gw, alice), 60)
        assert ask(client, gw, carol).status_code == 200  # another tenant
        assert ask(client, gw).status_code == 200  # anonymous callers have their own budget


def test_two_gateways_sharing_redis_count_together(
    tmp_path: Path,
    client: httpx.Client,
    echo_subgraph: EchoSubgraph,
    token_issuer: OidcIssuer,
    redis_server: RedisServer,
) -> None:
    token = token_issuer.issue(sub="alice", tid="tenant-shared")
    settings: dict[str, Any] = {
        "echo_url": f"{echo_subgraph.url}/graphql",
        "auth_issuers": trusting(token_issuer),
        "rate_limit_standard": 3,
        "rate_limit_window": 30,
        "redis_url": redis_server.fresh_url(),
    }
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    with (
        running_gateway(tmp_path / "one", SDL_V1, **settings) as one,
        running_gateway(tmp_path / "two", SDL_V1, **settings) as two,
    ):
        assert ask(client, one, token).status_code == 200
        assert ask(client, two, token).status_code == 200
        assert ask(client, one, token).status_code == 200
        # gateway two has served one request of its own: the refusal comes from the shared count
        assert_limited(ask(client, two, token), 30)
        assert_limited(ask(client, one, token), 30)
