"""The served gateway end to end: the real runtime (``gateway.runtime.Gateway``) behind the
HTTP edge, the aiohttp transport, and three real federation subgraphs on loopback
(the benchmark's accounts / reviews / products, from ``bench/subgraphs.py``).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import orjson
import pytest

from gateway.http import sdl_digest
from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.support.oidc_issuer import OidcIssuer

from .conftest import trusting
from .harness import ServerThread, closed_port, free_socket, wait_until

pytest.importorskip("gateway.runtime", reason="the federation runtime is not in this tree yet")

ROOT = Path(__file__).resolve().parents[2]
GQL_RESPONSE = "application/graphql-response+json"


def _bench_subgraphs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_subgraphs", ROOT / "bench" / "subgraphs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


subgraphs = _bench_subgraphs()


class Subgraphs:
    """The running subgraph server and its app (for recorded headers)."""

    def __init__(self, url: str, app: Any) -> None:
        self.url = url
        self.app = app


@pytest.fixture(scope="module")
def federation() -> Iterator[Subgraphs]:
    """accounts, reviews and products served by one loopback uvicorn server."""
    app = subgraphs.CachedSubgraphs()
    with ServerThread(app) as server:
        yield Subgraphs(server.url, app)


@pytest.fixture
def served(tmp_path: Path, federation: Subgraphs, token_issuer: OidcIssuer) -> Iterator[tuple[str, Path]]:
    """A gateway (real runtime) serving the federation's supergraph from a file."""
    path = tmp_path / "supergraph.graphql"
    path.write_text(subgraphs.supergraph_sdl(federation.url))
    settings = Settings.from_mapping(
        {
            "supergraph": path,
            "development": True,
            "poll_interval": 0.02,
            "log_level": "warning",
            "auth_issuers": trusting(token_issuer),
        }
    )
    app = build_app(settings)
    with ServerThread(app, build_server(settings, app)) as server:
        yield server.url, path


def graphql(url: str, query: str, accept: str = "application/json", **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        content=orjson.dumps({"query": query}),
        headers={"content-type": "application/json", "accept": accept, **headers},
        timeout=30,
    )


def _expected_heavy() -> dict[str, Any]:
    """The heavy query's answer computed from the subgraphs' own data, without any gateway."""
    users, products, reviews = subgraphs._data()
    by_author: dict[str, list[dict[str, Any]]] = {}
    by_product: dict[str, list[dict[str, Any]]] = {}
    for r in reviews:
        by_author.setdefault(r["authorId"], []).append(r)
        by_product.setdefault(r["upc"], []).append(r)

    def product(upc: str, *, nested: bool) -> dict[str, Any]:
        p = products[upc]
        out = {"upc": upc, "name": p["name"], "price": p["price"], "weight": p["weight"]}
        if nested:
            out["reviews"] = [
                {"id": r["id"], "body": r["body"], "author": author(r["authorId"])} for r in by_product[upc]
            ]
        return out

    def author(user_id: str) -> dict[str, Any]:
        u = users[user_id]
        return {
            "id": user_id,
            "name": u["name"],
            "username": u["username"],
            "reviews": [
                {"id": r["id"], "body": r["body"], "product": product(r["upc"], nested=False)}
                for r in by_author[user_id]
            ],
        }

    return {
        "data": {
            "users": [
                {
                    "id": uid,
                    "name": u["name"],
                    "username": u["username"],
                    "reviews": [
                        {"id": r["id"], "body": r["body"], "product": product(r["upc"], nested=True)}
                        for r in by_author[uid]
                    ],
                }
                for uid, u in users.items()
            ]
        }
    }


def test_heavy_nested_query_through_the_served_gateway(served: tuple[str, Path]) -> None:
    url, _ = served
    response = graphql(url, subgraphs.HEAVY_QUERY, accept=GQL_RESPONSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GQL_RESPONSE}; charset=utf-8"
    assert response.json() == _expected_heavy()
    assert len(response.content) > 150_000


def test_get_query_and_request_errors(served: tuple[str, Path]) -> None:
    url, _ = served
    ok = httpx.get(f"{url}/graphql", params={"query": '{ user(id: "u3") { name reviews { id } } }'})
    assert ok.status_code == 200
    assert ok.json() == {"data": {"user": {"name": "User 3", "reviews": [{"id": f"r{n}"} for n in range(9, 13)]}}}

    invalid = graphql(url, "{ users { nope } }", accept=GQL_RESPONSE)
    assert invalid.status_code == 400
    body = invalid.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert graphql(url, "{ users { nope } }").status_code == 200


def test_debug_plan_header_returns_the_plan(served: tuple[str, Path]) -> None:
    url, _ = served
    response = graphql(url, "{ users { name reviews { id } } }", **{"x-gateway-debug-plan": "true"})
    assert response.status_code == 200
    plan = response.json()["extensions"]["queryPlan"]["text"]
    assert 'Fetch(service: "accounts")' in plan
    assert 'Fetch(service: "reviews")' in plan


def test_headers_are_forwarded_to_subgraphs(
    served: tuple[str, Path], federation: Subgraphs, token_issuer: OidcIssuer
) -> None:
    url, _ = served
    token = token_issuer.issue()
    headers = {"authorization": f"Bearer {token}", "cookie": "a=b", "x-request-id": "e2e-1"}
    response = graphql(url, "{ users { id } }", **headers)
    assert response.status_code == 200
    seen = federation.app.last_headers
    assert seen["authorization"] == f"Bearer {token}"
    assert seen["x-request-id"] == "e2e-1"
    assert "cookie" not in seen


def test_hot_reload_with_the_real_runtime(served: tuple[str, Path], federation: Subgraphs) -> None:
    url, path = served
    assert graphql(url, "{ users { email } }").json()["data"]["users"][0] == {"email": "user1@example.com"}

    # The new supergraph no longer exposes User.email.
    without_email = subgraphs.supergraph_sdl(federation.url).replace(
        "  email: String @join__field(graph: ACCOUNTS)\n", ""
    )
    path.write_text(without_email)
    wait_until(
        lambda: httpx.get(f"{url}/health").json()["supergraph"]["sha256"] == sdl_digest(without_email),
        what="reload",
    )
    gone = graphql(url, "{ users { email } }", accept=GQL_RESPONSE)
    assert gone.status_code == 400
    assert "Cannot query field 'email'" in gone.json()["errors"][0]["message"]

    path.write_text("schema { query: Query } type Query { nothing: Int }")
    wait_until(lambda: "rejected" in httpx.get(f"{url}/health").json(), what="refusal")
    assert httpx.get(f"{url}/health").json()["supergraph"]["sha256"] == sdl_digest(without_email)
    assert graphql(url, "{ users { name } }").json()["data"]["users"][0] == {"name": "User 1"}


def test_subgraph_url_overrides_from_settings(tmp_path: Path, federation: Subgraphs) -> None:
    with closed_port() as port:
        path = tmp_path / "supergraph.graphql"
        # The file points every subgraph at a dead port; the settings point accounts at the live one.
        path.write_text(subgraphs.supergraph_sdl(f"http://127.0.0.1:{port}"))
        settings = Settings.from_mapping(
            {
                "supergraph": path,
                "log_level": "warning",
                "subgraph_urls": {"accounts": f"{federation.url}/accounts"},
            }
        )
        app = build_app(settings)
        with ServerThread(app, build_server(settings, app)) as server:
            users = graphql(server.url, "{ users { id } }").json()
            dead = graphql(server.url, "{ topProducts { upc } }").json()
    assert users["data"]["users"][0] == {"id": "u1"}
    assert dead["data"] is None
    assert dead["errors"][0]["message"] == "HTTP fetch failed from 'products': could not connect"


def test_cli_serve_end_to_end(tmp_path: Path, federation: Subgraphs) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(subgraphs.supergraph_sdl(federation.url))
    config = tmp_path / "gateway.yaml"
    config.write_text("supergraph: supergraph.graphql\npoll_interval: 0.05\nforward_headers: [x-tenant]\n")
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "GATEWAY_LOG_LEVEL": "info"},
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/health/ready").status_code == 200
            except httpx.TransportError:
                assert process.poll() is None
                return False

        wait_until(healthy, what="gateway process to load the supergraph")
        response = graphql(url, '{ user(id: "u1") { username } }', **{"x-tenant": "t9"})
        assert response.json() == {"data": {"user": {"username": "user1"}}}
        assert federation.app.last_headers["x-tenant"] == "t9"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b"supergraph" in stderr and b"loaded (sha256" in stderr
