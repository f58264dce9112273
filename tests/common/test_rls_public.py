"""Public reads through row-level security: a published passport behind its QR code, on the real passport server.

The server connects to PostgreSQL as the test cluster's non-superuser application
role, so every read below passes through the policies of :mod:`subgraphs.common.rls`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.common.tenancy import Scope
from tests.support.client import gql
from tests.support.postgres import PostgresServer
from tests.support.servers import free_port
from tests.support.subgraphs import running_subgraph

pytestmark = pytest.mark.postgres

PUBLIC = "query($uuid: String!) { publicPassport(uuid: $uuid) { uuid name status version } }"
PACK_01 = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_01")
ACME = demo.tenant("acme").id
GREENLOOP = demo.tenant("greenloop").id


@dataclass(frozen=True)
class Served:
    url: str
    database_url: str


@pytest.fixture(scope="module")
def passport(postgres_server: PostgresServer) -> Iterator[Served]:
    """The seeded passport subgraph on PostgreSQL; its peers point at closed ports."""
    url = postgres_server.create_database("rls_passport")
    closed = {name: f"http://127.0.0.1:{free_port()}/graphql" for name in ("catalog", "templates")}
    with running_subgraph("passport", url, service_urls=closed) as server:
        yield Served(server.url + "/graphql", url)


def test_an_anonymous_caller_reads_a_published_passport(passport: Served) -> None:
    body = gql(passport.url, PUBLIC, {"uuid": PACK_01.public_uuid})
    expected = {"uuid": PACK_01.public_uuid, "name": "ACME_CELL_PACK_01", "status": "PUBLISHED", "version": 2}
    assert body == {"data": {"publicPassport": expected}}


def test_the_public_read_pool_reads_every_tenant_and_writes_nothing(passport: Served) -> None:
    """Database.public_read (the QR path's misses): one statement sees any tenant's rows, as the public
    read allows, and PostgreSQL refuses a write on it; the scoped sessions' pool never carries the setting."""

    async def run() -> tuple[set[str], str, str]:
        database = Database(passport.database_url)
        try:
            async with database.public_read() as connection:
                rows = await connection.execute(sa.text("SELECT DISTINCT tenant_id FROM passport_passports"))
                tenants = {row[0] for row in rows}
                with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
                    await connection.execute(sa.text("UPDATE passport_passports SET name = name"))
            async with database.session(Scope(tenant_id=GREENLOOP)) as session:
                setting = (await session.execute(sa.text("SELECT current_setting('app.public_read', true)"))).scalar()
                mine = (await session.execute(sa.text("SELECT DISTINCT tenant_id FROM passport_passports"))).all()
            return tenants, str(setting), ",".join(sorted(row[0] for row in mine))
        finally:
            await database.dispose()

    tenants, setting, mine = asyncio.run(run())
    assert {ACME, GREENLOOP} <= tenants
    assert (setting, mine) == ("off", GREENLOOP)
