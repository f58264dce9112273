"""Scale-out: two gateway processes, two catalog instances sharing events through Redis.

Gateway A reaches catalog instance 1 and gateway B catalog instance 2 (one database, one Redis).
A subscriber on each gateway watches ``productEvents`` with ``passports`` from the passport
subgraph; a manager renames a product through gateway A. Both subscribers get the event,
completed by their own gateway: any replica can serve any subscriber, since the events travel
between the subgraph instances on the Redis stream and each gateway holds its own upstream.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.gateway_http.auth_stack import SUPERGRAPH
from tests.support.fixtures import identity_issuers
from tests.support.identity import IdentityIssuer, IdentityIssuers
from tests.support.redis import RedisServer
from tests.support.servers import free_socket
from tests.support.subgraphs import running_subgraph

from ..gateway_http.clients import init, recv, subscribe, ws_connect
from .stack import PRODUCT_EVENTS, Stack

__all__ = ["identity_issuers"]


@contextmanager
def gateway_process(env: dict[str, str]) -> Iterator[str]:
    """``gateway serve`` in its own process; yields its base URL once it answers."""
    sock = free_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--supergraph", str(SUPERGRAPH), "--port", str(port)],
        env={**os.environ, **env, "GATEWAY_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if httpx.get(url + "/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the gateway process did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _opened(url: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("gateway_subscriptions_opened_total "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.timeout(180)
def test_two_gateway_processes_deliver_one_event_to_subscribers_of_both(
    identity_issuers: IdentityIssuers, redis_server: RedisServer, tmp_path: Path
) -> None:
    issuer: IdentityIssuer = identity_issuers.get(
        "sqlite", lambda: f"sqlite+aiosqlite:///{(tmp_path / 'identity.db').as_posix()}"
    )
    redis_url = redis_server.fresh_url()
    catalog_db = f"sqlite+aiosqlite:///{(tmp_path / 'catalog.db').as_posix()}"
    with ExitStack() as running:
        catalogs = [
            running.enter_context(running_subgraph("catalog", catalog_db, redis_url=redis_url, **issuer.overrides())),
            running.enter_context(
                running_subgraph("catalog", catalog_db, seed=False, redis_url=redis_url, **issuer.overrides())
            ),
        ]
        others = {
            name: running.enter_context(running_subgraph(
                name, f"sqlite+aiosqlite:///{(tmp_path / f'{name}.db').as_posix()}", **issuer.overrides()
            ))
            for name in ("templates", "passport")
        }
        common = {
            "GATEWAY_OIDC_ISSUERS": issuer.base_url,
            "GATEWAY_OIDC_AUDIENCE": "dpp",
            "GATEWAY_OIDC_JWKS_MIN_REFRESH": "0",
            "GATEWAY_AUTH_CONTEXT_URL": issuer.base_url + "/auth/context",
            "GATEWAY_SUBGRAPH_IDENTITY_URL": issuer.url,
            "GATEWAY_SUBGRAPH_TEMPLATES_URL": others["templates"].url + "/graphql",
            "GATEWAY_SUBGRAPH_PASSPORT_URL": others["passport"].url + "/graphql",
        }
        gateways = [
            running.enter_context(gateway_process({**common, "GATEWAY_SUBGRAPH_CATALOG_URL": c.url + "/graphql"}))
            for c in catalogs
        ]
        viewer = issuer.token_for("acme-viewer")
        sockets = [running.enter_context(ws_connect(url.replace("http://", "ws://") + "/graphql")) for url in gateways]
        for url, ws in zip(gateways, sockets, strict=True):
            before = _opened(url)
            init(ws, viewer)
            subscribe(ws, "1", PRODUCT_EVENTS)
            deadline = time.monotonic() + 20
            while _opened(url) < before + 1:
                assert time.monotonic() < deadline, "the subscription was not opened"
                time.sleep(0.05)
        for catalog in catalogs:  # each instance's Redis stream reader has taken its starting point
            bus = catalog.server.config.app.state.runtime.events
            deadline = time.monotonic() + 10
            while not bus.reading.is_set():
                assert time.monotonic() < deadline, "the Redis stream reader did not start"
                time.sleep(0.02)
        time.sleep(0.5)  # the subgraphs have registered the upstream subscriptions

        renamed = Stack(gateways[0], issuer, identity_issuers.root).rename_product("Scale-out pack")

        for ws in sockets:
            message = recv(ws, timeout=15)
            while message.get("type") == "next" and "data" not in message["payload"]:
                message = recv(ws, timeout=15)  # a notice (none expected, but not the point here)
            assert message["type"] == "next", message
            event = message["payload"]["data"]["productEvents"]
            assert event["id"] == renamed["id"]
            assert event["name"] == "Scale-out pack"
            assert event["version"] == renamed["version"]
            assert isinstance(event["passportCount"], int) and event["passportCount"] >= 1
            assert event["passports"], "the passport subgraph's field was resolved for the event"
