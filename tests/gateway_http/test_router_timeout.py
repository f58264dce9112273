"""The router timeout: a request that executes longer than ``router_timeout`` gets 504 ``GATEWAY_TIMEOUT``.

A real gateway server and a real slow subgraph on loopback; the per-subgraph timeout is
unchanged by the router timeout (a subgraph slower than its own timeout still yields the
usual partial answer, not a 504).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.request_id import expected

from .harness import EchoSubgraph, ServerThread, echo_app, running_gateway


@pytest.fixture
def slow_subgraph() -> Iterator[EchoSubgraph]:
    """A subgraph whose ``/slow`` answers only when released (released after the test)."""
    release = threading.Event()
    with ServerThread(echo_app(release)) as server:
        yield EchoSubgraph(url=server.url, release=release)
        release.set()


def forwarded(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(
        f"{url}/graphql", json={"query": "{ forwarded }"}, headers={"accept": "application/json"}, timeout=30
    )
    return response, time.monotonic() - started


def test_a_slow_subgraph_beyond_the_router_timeout_yields_504(tmp_path: Path, slow_subgraph: EchoSubgraph) -> None:
    with running_gateway(tmp_path, echo_url=f"{slow_subgraph.url}/slow", router_timeout=0.5, default_timeout=20) as gw:
        response, elapsed = forwarded(gw.url)
        print(f"\nrouter timeout 0.5 s, subgraph timeout 20 s: {response.status_code} after {elapsed:.2f} s")
        assert response.status_code == 504
        assert response.json() == expected(
            {
                "errors": [
                    {
                        "message": "The request did not complete within 0.5 seconds",
                        "extensions": {"code": "GATEWAY_TIMEOUT"},
                    }
                ]
            },
            response,
        )
        assert response.headers["x-request-id"]
        assert 0.5 <= elapsed < 5
        # Counted among the refusals by code.
        metrics = httpx.get(f"{gw.url}/metrics").text
        assert 'code="GATEWAY_TIMEOUT"' in metrics
        # Other requests are unaffected.
        fast = httpx.post(f"{gw.url}/graphql", json={"query": "{ hello }"}, timeout=5)
        assert fast.json() == {"data": {"hello": "hello world"}}


def test_the_per_subgraph_timeout_still_applies_below_the_router_timeout(
    tmp_path: Path, slow_subgraph: EchoSubgraph
) -> None:
    with running_gateway(tmp_path, echo_url=f"{slow_subgraph.url}/slow", router_timeout=20, default_timeout=0.3) as gw:
        response, elapsed = forwarded(gw.url)
        print(f"\nrouter timeout 20 s, subgraph timeout 0.3 s: {response.status_code} after {elapsed:.2f} s")
        assert response.status_code == 200  # the subgraph's timeout: a field error, as before
        body = response.json()
        assert body["data"] == {"forwarded": None}
        assert "GATEWAY_TIMEOUT" not in response.text
        assert "timed out" in body["errors"][0]["message"].lower() or "timeout" in body["errors"][0]["message"].lower()
        assert elapsed < 10


def test_router_timeout_zero_is_off(tmp_path: Path, slow_subgraph: EchoSubgraph) -> None:
    with running_gateway(tmp_path, echo_url=f"{slow_subgraph.url}/slow", router_timeout=0, default_timeout=20) as gw:
        result: dict[str, httpx.Response] = {}
        thread = threading.Thread(target=lambda: result.setdefault("r", forwarded(gw.url)[0]))
        thread.start()
        time.sleep(1.0)  # well beyond what a 0.5 s router timeout would allow
        slow_subgraph.release.set()
        thread.join(timeout=10)
        # The subgraph's answer came (the stand-in runtime cannot read its empty data: a field error).
        assert result["r"].status_code == 200
        assert "GATEWAY_TIMEOUT" not in result["r"].text
