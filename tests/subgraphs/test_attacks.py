"""Issue 10's attacks sent straight to a subgraph (catalog, served on loopback, SQLite).

Strawberry's depth and alias limiters walked a fragment again at every spread: the
fragment bomb kept catalog busy 5.1 s at 18 levels, quadrupling every two levels. The
linear limit pass (subgraphs/common/limits.py) refuses each attack quickly with its code,
another client keeps being answered meanwhile, and memory comes back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway_http.attacks import Attack, attacks, under_attack
from tests.support.subgraphs import running_subgraph

SMALL = "{ categories { id name } }"
ATTACKS = attacks(
    root="categories",
    object_type="Category",
    id_field="id",
    deep="{ categories " + "{ parent " * 40 + "{ id }" + " }" * 40 + " }",
)


@pytest.fixture(scope="module")
def catalog_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("catalog-attacks")
    with running_subgraph("catalog", f"sqlite+aiosqlite:///{(folder / 'catalog.db').as_posix()}") as server:
        yield server.url + "/graphql"


def post(url: str, query: str) -> httpx.Response:
    return httpx.post(url, json={"query": query}, timeout=60)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_subgraph_refuses_the_attack_quickly_with_its_code(catalog_url: str, attack: Attack) -> None:
    started = time.perf_counter()
    response = post(catalog_url, attack.query)
    elapsed = time.perf_counter() - started
    print(f"catalog, {attack.name}: {len(attack.query):,} bytes refused in {elapsed * 1000:.0f} ms")
    body = response.json()
    assert body.get("data") is None, body
    codes = {(e.get("extensions") or {}).get("code") for e in body["errors"]}
    assert attack.codes & codes, codes
    assert len(response.content) < 10_000
    assert elapsed < 3.0, elapsed


def test_subgraph_serves_others_during_the_attacks_and_memory_returns(catalog_url: str) -> None:
    def small() -> bool:
        r = post(catalog_url, SMALL)
        return r.status_code == 200 and "errors" not in r.json() and bool(r.json()["data"]["categories"])

    assert small()
    prober, growth = under_attack(ATTACKS, lambda query: post(catalog_url, query), small)
    print(
        f"catalog, small query during the attacks: {len(prober.latencies)} answered, "
        f"median {prober.median * 1000:.0f} ms, worst {prober.worst * 1000:.0f} ms; "
        f"memory growth after {3 * len(ATTACKS)} attacks: {growth / 1e6:.1f} MB"
    )
    assert prober.latencies and prober.failures == 0
    assert prober.worst < 2.0, prober.worst
    assert growth < 20e6, growth
