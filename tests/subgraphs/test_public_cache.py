"""The public view of a published passport is cached: a hit runs no statement, a change drops it everywhere.

The statement counts stay meaningful with the cache off (``public_passport_cache_size`` 0): every read
then costs its statements, as before the cache. Revoking, archiving and publishing again drop the view
(the next read is loaded, not served from the cache), on the replica that made the change and, through
Redis (``dpp:passport:public:invalidate``), on every other replica of the same database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from subgraphs.common import demo
from subgraphs.passport.domain import PublicView
from subgraphs.passport.public_cache import PublicViewCache, view_from_json, view_to_json
from tests.subgraphs.passport.conftest import PassportServer, made_up_view, unreachable_url
from tests.support.identity import IdentityIssuer
from tests.support.redis import RedisServer
from tests.support.subgraphs import running_subgraph

BY_NAME = {p.name: p for p in demo.PASSPORTS}
PACK_01, PACK_02, PACK_03 = (BY_NAME[f"ACME_CELL_PACK_0{i}"] for i in (1, 2, 3))
PUBLIC = """query($uuid: String!) { publicPassport(uuid: $uuid) {
  uuid name status version contentHash revokedAt revocationReason archivedAt fields { key label value } } }"""
REVOKE = 'mutation($id: ID!) { revokePassport(id: $id, reason: "Recalled") { status } }'
ARCHIVE = "mutation($id: ID!) { archivePassport(id: $id) { status } }"
REVISE = "mutation($id: ID!) { revisePassport(id: $id) { version } }"
PUBLISH = "mutation($id: ID!) { publishPassport(id: $id) { publishedVersion } }"


def _server(database_url: str, issuer: IdentityIssuer, *, seed: bool = True, **settings: Any) -> Any:
    urls = {"catalog": unreachable_url(), "templates": unreachable_url()}
    return running_subgraph("passport", database_url, seed=seed, service_urls=urls, **settings, **issuer.overrides())


@pytest.fixture
def cached(database_url_factory, issuer: IdentityIssuer) -> Iterator[PassportServer]:
    """A passport subgraph with the default cache, no Redis."""
    url = database_url_factory("passport")
    with _server(url, issuer) as server:
        yield PassportServer(server.url, url, issuer)


@pytest.fixture
def uncached(database_url_factory, issuer: IdentityIssuer) -> Iterator[PassportServer]:
    """A passport subgraph with the public view cache off."""
    url = database_url_factory("passport")
    with _server(url, issuer, public_passport_cache_size=0) as server:
        yield PassportServer(server.url, url, issuer)


def _read(server: PassportServer, demo_passport: demo.DemoPassport) -> tuple[dict[str, Any], int]:
    """The public view of ``demo_passport`` and the statements the read cost."""
    before = server.statements()
    view = server.data(PUBLIC, {"uuid": demo_passport.public_uuid})["publicPassport"]
    return view, server.statements() - before


def test_with_the_cache_off_every_read_costs_its_statements(uncached: PassportServer, backend: str) -> None:
    costs = [_read(uncached, PACK_01)[1] for _ in range(3)]
    # Passport and its published version in one statement, on PostgreSQL too: the public-read pool's
    # connections carry their row-level security settings from the start, in autocommit (a scoped
    # session's transaction cost two more before: the settings, and BEGIN, which is not counted)
    assert costs == [1, 1, 1], costs


def test_a_cached_view_is_served_without_a_statement(
    cached: PassportServer, uncached: PassportServer, backend: str
) -> None:
    first, loaded = _read(cached, PACK_01)
    again, hit = _read(cached, PACK_01)
    assert (loaded, hit) == (_read(uncached, PACK_01)[1], 0)
    assert again == first == _read(uncached, PACK_01)[0]
    # The same view for every caller (it is public): a signed-in reader of another tenant hits it too.
    before = cached.statements()
    assert cached.data(PUBLIC, {"uuid": PACK_01.public_uuid}, as_user="greenloop-admin")["publicPassport"] == first
    assert cached.statements() == before
    # Unknown and never-published uuids are NOT_FOUND every time, and are not kept.
    for uuid in ("no-such-uuid", PACK_03.public_uuid, "no-such-uuid"):
        body = cached.query(PUBLIC, {"uuid": uuid})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body


def test_revoke_archive_and_a_new_publication_drop_the_view(cached: PassportServer) -> None:
    _read(cached, PACK_02)
    cached.data(REVOKE, {"id": PACK_02.id}, as_user="acme-admin")
    revoked, cost = _read(cached, PACK_02)
    assert (revoked["status"], revoked["revocationReason"], cost > 0) == ("REVOKED", "Recalled", True)

    _read(cached, PACK_01)
    cached.data(ARCHIVE, {"id": PACK_01.id}, as_user="acme-admin")
    archived, cost = _read(cached, PACK_01)
    assert (archived["status"], archived["archivedAt"] is not None, cost > 0) == ("ARCHIVED", True, True)

    other = BY_NAME["GRL_ORGANIC_TEE_01"]
    published, _ = _read(cached, other)
    cached.data(REVISE, {"id": other.id}, as_user="greenloop-admin")
    assert _read(cached, other)[0] == published  # a revision still shows the latest published version
    assert cached.data(PUBLISH, {"id": other.id}, as_user="greenloop-admin")["publishPassport"]["publishedVersion"] == (
        published["version"] + 1
    )
    republished, cost = _read(cached, other)
    assert (republished["version"], cost > 0) == (published["version"] + 1, True)
    assert republished["contentHash"] != published["contentHash"]


@pytest.fixture
def replicas(
    database_url_factory, issuer: IdentityIssuer, redis_server: RedisServer
) -> Iterator[tuple[PassportServer, PassportServer]]:
    """Two passport subgraphs on one database and one Redis."""
    url = database_url_factory("passport")
    redis_url = redis_server.fresh_url()
    with _server(url, issuer, redis_url=redis_url) as a, _server(url, issuer, seed=False, redis_url=redis_url) as b:
        yield PassportServer(a.url, url, issuer), PassportServer(b.url, url, issuer)


def test_a_change_on_one_replica_drops_the_view_on_the_other(replicas: tuple[PassportServer, PassportServer]) -> None:
    a, b = replicas
    before, _ = _read(b, PACK_02)
    assert _read(b, PACK_02)[1] == 0
    assert _read(a, PACK_02)[0] == before  # shared through Redis, or loaded: the same view
    a.data(REVOKE, {"id": PACK_02.id}, as_user="acme-admin")
    deadline = time.monotonic() + 5
    while (seen := _read(b, PACK_02)[0])["status"] != "REVOKED" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (seen["status"], seen["revocationReason"]) == ("REVOKED", "Recalled"), seen
    assert _read(a, PACK_02)[0] == seen


def test_a_view_loaded_before_a_change_is_kept_neither_here_nor_in_redis(redis_server: RedisServer) -> None:
    """A reader that loaded the old state while a change committed and was announced must not keep it."""
    assert view_from_json(view_to_json(made_up_view(status="PUBLISHED"))) == made_up_view(status="PUBLISHED")
    redis_url = redis_server.fresh_url()

    async def run() -> list[str]:
        reader, writer, third = (PublicViewCache(100, 60, redis_url) for _ in range(3))
        loading, changed = asyncio.Event(), asyncio.Event()

        async def old_state() -> PublicView:
            loading.set()
            await changed.wait()  # the change commits and is announced while this load runs
            return made_up_view(status="PUBLISHED")

        async def new_state() -> PublicView:
            return made_up_view(status="REVOKED")

        try:
            await reader.get("warm-up", new_state)  # starts the reader's subscriber
            for _ in range(500):
                if reader.subscribed:
                    break
                await asyncio.sleep(0.01)
            slow = asyncio.create_task(reader.get("u-1", old_state))
            await loading.wait()
            await writer.forget("u-1")
            changed.set()
            served = (await slow).status  # the reader's own request still gets what it loaded
            # No replica takes the old view from Redis: it was written under the generation before the change.
            elsewhere = (await third.get("u-1", new_state)).status
            # The reader drops it once the announcement arrives (at once when it arrived during the load).
            for _ in range(250):
                if (here := (await reader.get("u-1", new_state)).status) == "REVOKED":
                    break
                await asyncio.sleep(0.02)
            return [served, elsewhere, here, (await writer.get("u-1", new_state)).status]
        finally:
            for cache in (reader, writer, third):
                await cache.aclose()

    assert asyncio.run(run()) == ["PUBLISHED", "REVOKED", "REVOKED", "REVOKED"]
