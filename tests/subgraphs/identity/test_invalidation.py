"""Identity announces auth changes on Redis (``dpp:auth:invalidate``) after they committed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.subgraphs.identity.conftest import Identity, data, error, serving_identity, tenant_id
from tests.support.redis import MISSING_REASON, RedisServer, redis_binary

CHANNEL = "dpp:auth:invalidate"
REFRESH = "mutation($token: String!) { refreshToken(refreshToken: $token) { refreshToken } }"
GRANT = 'mutation { grantPolicy(role: "Manager", policy: "passport:revoke") { policy } }'
STATUS = "mutation($id: ID!) { setTenantStatus(id: $id, status: DEACTIVATED) { status } }"


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """A Redis server of this module's own (pub/sub is server-wide)."""
    if redis_binary() is None:
        pytest.skip(MISSING_REASON)
    with RedisServer() as server:
        yield server


@pytest.fixture
def announced(own_redis: RedisServer, database_url_factory, tmp_path: Path) -> Iterator[tuple[Identity, Any]]:
    """Identity publishing to ``own_redis``, and a subscriber of the channel."""
    client = redis.Redis.from_url(own_redis.url)
    pubsub = client.pubsub()
    pubsub.subscribe(CHANNEL)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    with serving_identity(database_url_factory("identity"), tmp_path / "data", redis_url=own_redis.url) as served:
        yield served, pubsub
    pubsub.close()
    client.close()


def _messages(pubsub: Any, wait: float = 5.0) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message is not None and message["type"] == "message":
            found.append(json.loads(message["data"]))
        elif found:
            break
    return found


def test_refresh_reuse_is_announced(announced: tuple[Identity, Any]) -> None:
    identity, pubsub = announced
    first = identity.login("acme-viewer")
    data(identity.query(REFRESH, {"token": first["refreshToken"]}))
    assert _messages(pubsub, wait=0.5) == []  # an ordinary rotation changes nobody's rights
    assert error(identity.query(REFRESH, {"token": first["refreshToken"]}))[0] == "UNAUTHENTICATED"
    (message,) = _messages(pubsub)
    assert message["reason"] == "session" and message["sessionId"]


def test_policy_and_status_changes_are_announced(announced: tuple[Identity, Any]) -> None:
    identity, pubsub = announced
    data(identity.query(GRANT, as_user="acme-admin"))
    assert [m["reason"] for m in _messages(pubsub)] == ["policy"]
    data(identity.query(STATUS, {"id": tenant_id("greenloop")}, as_user="root"))
    assert [(m["reason"], m["tenantId"]) for m in _messages(pubsub)] == [("tenant", tenant_id("greenloop"))]
