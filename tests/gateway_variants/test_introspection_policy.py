"""Introspection per variant and per caller, on a real gateway (introspection never reaches a subgraph).

``auto`` is on in development and for authenticated callers only otherwise; ``off`` refuses
everyone, ``on`` nobody; the SDL download follows the same policy; a refused operation is a
request error (400 for graphql-response+json, nothing executed) and ``__typename`` is no
introspection.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.http.state import GatewayState
from gateway.runtime import Gateway
from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.support.servers import ServerThread

ROOT = Path(__file__).resolve().parents[2]
TYPES = {"query": "{ __schema { queryType { name } } }"}


@contextmanager
def gateway(tmp_path: Path, state: GatewayState | None = None, **values: Any) -> Iterator[str]:
    shutil.copyfile(ROOT / "schema" / "supergraph.graphql", tmp_path / "supergraph.graphql")
    shutil.copyfile(ROOT / "schema" / "partner.graphql", tmp_path / "partner.graphql")
    settings = Settings.from_mapping({"supergraph": tmp_path / "supergraph.graphql", "poll_interval": 0,
                                      "log_level": "warning", **values})
    app = build_app(settings, state=state)
    with ServerThread(app, build_server(settings, app)) as server:
        yield server.url


def _code(response: httpx.Response) -> str | None:
    errors = response.json().get("errors") or [{}]
    return errors[0].get("extensions", {}).get("code")


def test_auto_is_on_in_development(tmp_path: Path) -> None:
    with gateway(tmp_path, development=True, variants={"partner": {}}) as url:
        answer = httpx.post(url + "/partner/graphql", json=TYPES)
        assert answer.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        assert httpx.get(url + "/partner/graphql/schema.graphql").status_code == 200


def test_off_refuses_everyone_and_on_nobody(tmp_path: Path) -> None:
    variants = {"partner": {"introspection": "off"}, "open": {"supergraph": str(tmp_path / "partner.graphql"),
                                                            "introspection": "on"}}
    state = GatewayState()
    with gateway(tmp_path, state, introspection="off", variants=variants) as url:
        # the policed runtime is still a Gateway: subscriptions (gateway/subscriptions) need one
        assert state.current is not None and isinstance(state.current.runtime, Gateway)
        for path in ("/graphql", "/partner/graphql"):
            refused = httpx.post(url + path, json=TYPES, headers={"accept": "application/graphql-response+json"})
            assert refused.status_code == 400 and _code(refused) == "INTROSPECTION_DISABLED"
            assert "data" not in refused.json()
            download = httpx.get(url + path + "/schema.graphql", headers={"x-request-id": "dl-1"})
            assert download.status_code == 403 and _code(download) == "INTROSPECTION_DISABLED"
            assert download.json()["errors"][0]["extensions"]["requestId"] == "dl-1"
            assert download.headers["x-request-id"] == "dl-1"
            # a fragment spread does not hide __schema from the policy
            spread = "query { ...F } fragment F on Query { __schema { queryType { name } } }"
            assert _code(httpx.post(url + path, json={"query": spread})) == "INTROSPECTION_DISABLED"
            assert httpx.post(url + path, json={"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}
        assert httpx.post(url + "/open/graphql", json=TYPES).json()["data"]["__schema"]["queryType"]["name"] == "Query"
        assert httpx.get(url + "/open/graphql/schema.graphql").status_code == 200


@pytest.mark.parametrize("bad_token", ["Bearer not-a-token"])
def test_authenticated_refuses_anonymous_and_rejects_bad_tokens(tmp_path: Path, bad_token: str) -> None:
    with gateway(tmp_path, introspection="authenticated") as url:
        assert _code(httpx.post(url + "/graphql", json=TYPES)) == "INTROSPECTION_DISABLED"
        download = httpx.get(url + "/graphql/schema.graphql")
        assert download.status_code == 401 and download.headers["www-authenticate"] == "Bearer"
        generated = download.headers["x-request-id"]
        assert download.json()["errors"][0]["extensions"]["requestId"] == generated and len(generated) == 32
        # a token that does not verify is refused by authentication itself, as on every request
        forged = httpx.get(url + "/graphql/schema.graphql", headers={"authorization": bad_token})
        assert forged.status_code == 401 and _code(forged) != "INTROSPECTION_DISABLED"


def test_readiness_waits_for_every_variant(tmp_path: Path) -> None:
    missing = tmp_path / "late.graphql"
    with gateway(tmp_path, poll_interval=0.1, variants={"late": {"supergraph": str(missing)}}) as url:
        ready = httpx.get(url + "/health/ready")
        assert ready.status_code == 503
        assert ready.json()["variants"]["late"] == {"path": "/late/graphql", "status": "fail"}
        assert httpx.get(url + "/health/live").status_code == 200  # liveness does not look at variants
        assert httpx.post(url + "/late/graphql", json=TYPES).status_code == 503
        shutil.copyfile(ROOT / "schema" / "partner.graphql", missing)
        deadline = time.monotonic() + 15
        while (ready := httpx.get(url + "/health/ready")).status_code != 200:
            assert time.monotonic() < deadline, ready.json()
            time.sleep(0.1)
        assert ready.json()["variants"]["late"]["status"] == "pass"
        assert "supergraph" in ready.json()
