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
from sqlmodel import col

from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.common.tenancy import Scope
from subgraphs.passport.models import Passport
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


def seen_in_one_transaction(database_url: str, scope: Scope) -> tuple[list[str], set[str]]:
    """In one transaction of the app's session with ``scope``: the public read the passport subgraph does
    for ``publicPassport`` (names found), then a raw SELECT (tenants whose passports it sees)."""

    async def run() -> tuple[list[str], set[str]]:
        database = Database(database_url)
        try:
            async with database.session(scope) as session, session.begin():
                public = sa.select(Passport).where(col(Passport.uuid) == PACK_01.public_uuid)
                found = (await session.execute(public.execution_options(public_read=True))).scalars().all()
                rows = (await session.execute(sa.text("SELECT tenant_id FROM passport_passports"))).all()
                return [p.name for p in found], {row[0] for row in rows}
        finally:
            await database.dispose()

    return asyncio.run(run())


def seen_after_a_rolled_back_savepoint(database_url: str, scope: Scope) -> set[str]:
    """Tenants whose passports a raw SELECT sees after a public read and a savepoint, rolled back, in which
    the next statement switched the public read off: PostgreSQL's rollback of the savepoint switches it on again."""

    async def run() -> set[str]:
        database = Database(database_url)
        try:
            async with database.session(scope) as session, session.begin():
                public = sa.select(Passport).where(col(Passport.uuid) == PACK_01.public_uuid)
                assert (await session.execute(public.execution_options(public_read=True))).scalars().all()
                savepoint = await session.begin_nested()
                await session.execute(sa.select(Passport.id).where(sa.false()))
                await savepoint.rollback()
                rows = (await session.execute(sa.text("SELECT tenant_id FROM passport_passports"))).all()
                return {row[0] for row in rows}
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_an_anonymous_caller_reads_a_published_passport(passport: Served) -> None:
    body = gql(passport.url, PUBLIC, {"uuid": PACK_01.public_uuid})
    expected = {"uuid": PACK_01.public_uuid, "name": "ACME_CELL_PACK_01", "status": "PUBLISHED", "version": 2}
    assert body == {"data": {"publicPassport": expected}}


def test_the_public_read_is_one_statements_exception_in_any_tenants_transaction(passport: Served) -> None:
    # Another tenant's member (and an anonymous caller) reads Acme's published passport, and the
    # very next raw statement of the same transaction sees its own tenant's passports only.
    assert seen_in_one_transaction(passport.database_url, Scope(tenant_id=GREENLOOP)) == (
        ["ACME_CELL_PACK_01"],
        {GREENLOOP},
    )
    assert seen_in_one_transaction(passport.database_url, Scope()) == (["ACME_CELL_PACK_01"], set())
    assert seen_in_one_transaction(passport.database_url, Scope(tenant_id=ACME))[1] == {ACME}


def test_a_rolled_back_savepoint_does_not_bring_the_public_read_back(passport: Served) -> None:
    assert seen_after_a_rolled_back_savepoint(passport.database_url, Scope(tenant_id=GREENLOOP)) == {GREENLOOP}
    assert seen_after_a_rolled_back_savepoint(passport.database_url, Scope()) == set()


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
