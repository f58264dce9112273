"""APQ and batching through the real federation runtime (``gateway.runtime.Gateway``) and three real
subgraphs on loopback (the benchmark's accounts / reviews / products)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.support.oidc_issuer import OidcIssuer

from .conftest import trusting
from .harness import ServerThread

pytest.importorskip("gateway.runtime", reason="the federation runtime is not in this tree yet")

from .test_end_to_end import Subgraphs, federation, subgraphs  # noqa: F401 - the module's fixture

QUERY = "query Names { users { id name reviews { id product { upc name } } } }"


@pytest.fixture
def served(tmp_path: Path, federation: Subgraphs, token_issuer: OidcIssuer) -> Iterator[str]:  # noqa: F811
    path = tmp_path / "supergraph.graphql"
    path.write_text(subgraphs.supergraph_sdl(federation.url))
    settings = Settings.from_mapping(
        {
            "supergraph": path,
            "poll_interval": 0.02,
            "log_level": "warning",
            "auth_issuers": trusting(token_issuer),
            "batching_enabled": True,
        }
    )
    app = build_app(settings)
    with ServerThread(app, build_server(settings, app)) as server:
        yield f"{server.url}/graphql"


def post(url: str, body: object) -> httpx.Response:
    return httpx.post(url, content=orjson.dumps(body), headers={"content-type": "application/json"}, timeout=30)


def test_apq_and_a_batch_through_the_federation(served: str) -> None:
    expected = post(served, {"query": QUERY}).json()
    assert expected["data"]["users"] and "errors" not in expected
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(QUERY.encode()).hexdigest()}}
    assert post(served, {"extensions": extensions}).json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )
    assert post(served, {"query": QUERY, "extensions": extensions}).json() == expected
    hit = httpx.get(served, params={"extensions": orjson.dumps(extensions).decode()}, timeout=30)
    assert hit.status_code == 200 and hit.json() == expected
    batch = post(served, [{"extensions": extensions}, {"query": "{ users { nope } }"}, {"query": QUERY}]).json()
    assert batch[0] == expected and batch[2] == expected
    assert batch[1]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
