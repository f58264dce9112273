"""A subscription ends when its token expires; with Redis, events cross subgraph processes (two instances)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from subgraphs.common import demo
from subgraphs.common.app import create_app
from subgraphs.registry import load_definition
from tests.subscriptions.subgraphs.conftest import data
from tests.subscriptions.subgraphs.wsclient import connected
from tests.support.identity import IdentityIssuer
from tests.support.redis import RedisServer
from tests.support.servers import ServerThread, free_socket
from tests.support.subgraphs import prepare_database, running_subgraph, subgraph_settings

BY_NAME = {p.name: p for p in demo.PASSPORTS}
PACK_06 = BY_NAME["ACME_CELL_PACK_06"]
EVENTS = "subscription { passportEvents { id version } }"
VERSION = "query($id: ID!) { passport(id: $id) { version } }"
SET_VALUES = """mutation($id: ID!, $v: Int!, $values: [FieldValueInput!]!) {
  setPassportValues(id: $id, expectedVersion: $v, values: $values) { version } }"""
SHORT_TTL = 3


@pytest.fixture(scope="module")
def short_lived_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityIssuer]:
    """An identity issuer whose access tokens live SHORT_TTL seconds."""
    root: Path = tmp_path_factory.mktemp("short-identity")
    url = f"sqlite+aiosqlite:///{(root / 'identity.db').as_posix()}"
    prepare_database("identity", url)
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = subgraph_settings(
        "identity",
        url,
        port=int(sock.getsockname()[1]),
        issuer_url=base,
        identity_url=base,
        data_dir=root,
        access_token_ttl=SHORT_TTL,
    )
    server = ServerThread(create_app(load_definition("identity"), settings), sock=sock).start()
    try:
        yield IdentityIssuer(base, url)
    finally:
        server.stop()


def touch(base: str, token: str) -> int:
    version = data(base, VERSION, {"id": PACK_06.id}, token=token)["passport"]["version"]
    values = [{"key": "manufacture_date", "value": f"2025-02-0{version % 9 + 1}"}]
    return int(
        data(base, SET_VALUES, {"id": PACK_06.id, "v": version, "values": values}, token=token)["setPassportValues"][
            "version"
        ]
    )


def test_an_expiring_token_ends_the_subscription_with_unauthenticated(
    short_lived_issuer: IdentityIssuer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('passport-exp') / 'passport.db').as_posix()}"
    with running_subgraph("passport", url, **short_lived_issuer.overrides()) as server:
        token = short_lived_issuer.login("acme-viewer")["accessToken"]
        started = time.monotonic()
        with connected(server.url, token=token) as ws:
            op = ws.subscribe(EVENTS)
            message = ws.receive(timeout=SHORT_TTL + 5)
            waited = time.monotonic() - started
            assert (message["id"], message["type"]) == (op, "next"), message
            assert message["payload"]["data"] is None
            assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert "expired" in message["payload"]["errors"][0]["message"]
            assert ws.receive() == {"id": op, "type": "complete"}
        assert waited < SHORT_TTL + 2, f"ended {waited:.1f}s after subscribing, the token lived {SHORT_TTL}s"


def test_with_redis_a_mutation_on_one_instance_reaches_a_subscriber_of_another(
    module_issuer: IdentityIssuer, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('passport-redis') / 'passport.db').as_posix()}"
    redis_url = redis_server.fresh_url()
    manager = module_issuer.token_for("acme-manager")
    viewer = module_issuer.token_for("acme-viewer")
    with (
        running_subgraph("passport", url, redis_url=redis_url, **module_issuer.overrides()) as first,
        running_subgraph("passport", url, redis_url=redis_url, seed=False, **module_issuer.overrides()) as second,
        connected(second.url, token=viewer) as ws,
        connected(first.url, token=viewer) as local,
    ):
        op = ws.subscribe(EVENTS)
        local_op = local.subscribe(EVENTS)
        for server in (first, second):  # each instance's stream reader has taken its starting point
            bus = server.server.config.app.state.runtime.events
            deadline = time.monotonic() + 10
            while not bus.reading.is_set():
                assert time.monotonic() < deadline, "the Redis stream reader did not start"
                time.sleep(0.02)
        version = touch(first.url, manager)
        seen = []
        for client, expected in ((ws, op), (local, local_op)):
            message = client.receive()
            assert message["id"] == expected, message
            assert message["payload"]["data"]["passportEvents"] == {"id": PACK_06.id, "version": version}
            seen.append(message["payload"]["extensions"]["event"]["id"])
        assert seen[0] == seen[1], "one event, with the Redis stream's id, reached both instances"
