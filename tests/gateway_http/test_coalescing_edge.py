"""Coalescing through the served gateway (``build_app`` under uvicorn, gateway/coalescing.py): concurrent
identical queries share one execution, and each response is still its own (its x-request-id header, the
requestId of its errors); with ``dedup_queries`` off every request runs its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.support.flaky_subgraph import FlakySubgraph, flaky_subgraph
from tests.support.servers import ServerThread

N = 6


@pytest.fixture(scope="module")
def flaky() -> Iterator[FlakySubgraph]:
    yield from flaky_subgraph()


def serve(tmp_path: Path, flaky: FlakySubgraph, **values: Any) -> ServerThread:
    path = tmp_path / "supergraph.graphql"
    path.write_text(flaky.supergraph_sdl())
    settings = Settings.from_mapping({"supergraph": path, "log_level": "warning", "retry_attempts": 0, **values})
    app = build_app(settings)
    return ServerThread(app, build_server(settings, app))


async def concurrently(url: str, query: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(*(
            client.post(f"{url}/graphql", json={"query": query}, headers={"x-request-id": f"req-{n}"})
            for n in range(N)
        ))


def metrics(url: str) -> str:
    return httpx.get(f"{url}/metrics", timeout=10).text


def coalesced(url: str) -> float:
    for line in metrics(url).splitlines():
        if line.startswith("gateway_coalesced_requests_total "):
            return float(line.split()[1])
    raise AssertionError("no gateway_coalesced_requests_total")


async def test_identical_requests_share_one_execution_and_keep_their_own_ids(
    tmp_path: Path, flaky: FlakySubgraph
) -> None:
    with serve(tmp_path, flaky) as gw:
        flaky.set("slow", delay=0.3)
        answers = await concurrently(gw.url, "{ hello steady }")
        assert [a.status_code for a in answers] == [200] * N
        assert [a.headers["x-request-id"] for a in answers] == [f"req-{n}" for n in range(N)]
        assert {a.content for a in answers} == {b'{"data":{"hello":"world","steady":"fine"}}'}
        assert flaky.queries == 1
        assert coalesced(gw.url) == N - 1

        # one shared outcome with an error: each response carries its own requestId. The 503 comes after a
        # delay, as the answer above did: an immediate one let the first execution end before the others
        # arrived on a loaded machine (CI: 3 subgraph requests instead of 1)
        flaky.set("503", delay=0.3)
        answers = await concurrently(gw.url, "{ hello steady }")
        assert flaky.queries == 1
        for n, answer in enumerate(answers):
            body = answer.json()
            assert body["data"] == {"hello": None, "steady": "fine"}
            assert [e["extensions"]["requestId"] for e in body["errors"]] == [f"req-{n}"]
        assert coalesced(gw.url) == 2 * (N - 1)


async def test_without_query_deduplication_every_request_runs(tmp_path: Path, flaky: FlakySubgraph) -> None:
    with serve(tmp_path, flaky, dedup_queries=False) as gw:
        flaky.set("slow", delay=0.3)
        answers = await concurrently(gw.url, "{ hello }")
        assert {a.content for a in answers} == {b'{"data":{"hello":"world"}}'}
        assert flaky.queries == N
        assert "gateway_coalesced_requests_total" not in metrics(gw.url)
