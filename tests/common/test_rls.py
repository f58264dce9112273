"""Row-level security on PostgreSQL: a raw statement in a tenant's transaction reaches that tenant's rows only.

For each subgraph the database is migrated (no seed) and every table with a tenant
column, found in the SQLAlchemy metadata so that a new table cannot be forgotten,
gets rows of two tenants written past the policies by the superuser. The checks
then run through the application's own :class:`~subgraphs.common.db.Database`
sessions, connected as the non-superuser application role of the test server.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.db import Database
from subgraphs.common.rls import POLICY_PUBLIC_READ, POLICY_TENANT, POLICY_UNRESTRICTED, tenant_tables
from subgraphs.common.settings import SERVICE_NAMES
from subgraphs.common.tenancy import SCOPE_KEY, SYSTEM, Scope
from subgraphs.registry import load_definition
from tests.support.postgres import PostgresServer
from tests.support.subgraphs import prepare_database

pytestmark = pytest.mark.postgres

TENANT_A = "01RLSTENANTAAAAAAAAAAAAAAA"
TENANT_B = "01RLSTENANTBBBBBBBBBBBBBBB"
ROWS_PER_TENANT = 2
_serial = itertools.count(1)


@dataclass(frozen=True)
class Migrated:
    """A migrated database of one subgraph with rows of two tenants in every tenant table."""

    name: str
    url: str
    tables: tuple[sa.Table, ...]

    def nullable_tenant(self, table: sa.Table) -> bool:
        """Audit tables keep entries without tenant."""
        return bool(table.c.tenant_id.nullable)


def fake_row(table: sa.Table, tenant_id: str | None) -> dict[str, Any]:
    """A row for any table, from its column types: unique strings, numbers, now, empty JSON."""
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name == "tenant_id":
            row[column.name] = tenant_id
            continue
        n = next(_serial)
        kind = column.type
        if isinstance(kind, sa.Enum):
            row[column.name] = kind.enums[0]
            continue
        if isinstance(kind, sa.JSON):
            row[column.name] = None if column.nullable else {}
            continue
        try:
            python_type: Any = kind.python_type
        except NotImplementedError:
            python_type = str
        if python_type is bool:
            row[column.name] = False
        elif python_type is int:
            row[column.name] = n
        elif python_type is float:
            row[column.name] = float(n)
        elif python_type is datetime:
            row[column.name] = datetime.now(UTC)
        elif python_type is date:
            row[column.name] = date.today()
        elif python_type is bytes:
            row[column.name] = f"{n}".encode()
        elif python_type in (dict, list):
            row[column.name] = python_type()
        else:
            length = getattr(kind, "length", None) or 64
            row[column.name] = f"{n}x{uuid.uuid4().hex}"[:length]
    return row


async def _populate(url: str, tables: tuple[sa.Table, ...]) -> None:
    engine = Database(url).engine
    try:
        async with engine.begin() as connection:
            # As the superuser, past the policies and (replica mode) past the foreign keys.
            await connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in tables:
                tenants: list[str | None] = [TENANT_A, TENANT_B] * ROWS_PER_TENANT
                if table.c.tenant_id.nullable:
                    tenants.append(None)
                for tenant in tenants:
                    await connection.execute(table.insert().values(**fake_row(table, tenant)))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=SERVICE_NAMES)
def migrated(request: pytest.FixtureRequest, postgres_server: PostgresServer) -> Iterator[Migrated]:
    """One subgraph's migrated database with rows of tenants A and B (and untenanted audit rows)."""
    name = str(request.param)
    definition = load_definition(name)
    url = postgres_server.create_database(f"rls_{name}")
    prepare_database(name, url, seed=False)
    tables = tuple(tenant_tables(SQLModel.metadata, definition.table_prefix))
    assert tables, f"{name} has no tenant tables?"
    asyncio.run(_populate(postgres_server.superuser_url(url), tables))
    yield Migrated(name, url, tables)


@asynccontextmanager
async def transaction(url: str, scope: Scope) -> AsyncIterator[AsyncSession]:
    """A transaction of an application session with ``scope``, rolled back at the end."""
    database = Database(url)
    try:
        async with database.session(scope) as session:
            await session.begin()
            try:
                yield session
            finally:
                await session.rollback()
    finally:
        await database.dispose()


async def tenants_seen(session: AsyncSession, table: sa.Table, **options: Any) -> list[str | None]:
    stmt = sa.text(f'SELECT tenant_id FROM "{table.name}" ORDER BY tenant_id').execution_options(**options)
    return [row[0] for row in (await session.execute(stmt)).all()]


async def outcome(url: str, scope: Scope, statement: Any, params: dict[str, Any] | None = None) -> int | str:
    """Rows a single raw statement affected in its own transaction, or the database's refusal."""
    async with transaction(url, scope) as session:
        try:
            return int((await session.execute(statement, params or {})).rowcount)  # type: ignore[attr-defined]
        except DBAPIError as exc:
            return "refused: " + str(exc.orig).splitlines()[0]


def _refused(result: int | str) -> bool:
    return isinstance(result, str) and "new row violates row-level security policy" in result


async def test_every_tenant_table_is_forced_under_the_policies_and_the_app_role_cannot_bypass(
    migrated: Migrated,
) -> None:
    async with transaction(migrated.url, Scope(tenant_id=TENANT_A)) as session:
        role = (
            await session.execute(sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))
        ).one()
        assert tuple(role) == (False, False)
        flags = dict(
            (
                await session.execute(sa.text("SELECT relname, (relrowsecurity AND relforcerowsecurity) FROM pg_class"))
            ).all()
        )
        policies = (await session.execute(sa.text("SELECT tablename, policyname FROM pg_policies"))).all()
    for table in migrated.tables:
        assert flags.get(table.name) is True, f"{table.name} is not under forced row-level security"
        names = {policy for name, policy in policies if name == table.name}
        assert {POLICY_TENANT, POLICY_UNRESTRICTED, POLICY_PUBLIC_READ} <= names, (table.name, names)


async def test_a_raw_select_in_a_tenant_transaction_sees_only_that_tenants_rows(migrated: Migrated) -> None:
    async with transaction(migrated.url, Scope(tenant_id=TENANT_A)) as session:
        for table in migrated.tables:
            assert await tenants_seen(session, table) == [TENANT_A] * ROWS_PER_TENANT, table.name
            # Past the ORM altogether, on the session's connection: the same.
            connection = await session.connection()
            rows = (await connection.execute(sa.text(f'SELECT tenant_id FROM "{table.name}"'))).all()
            assert {row[0] for row in rows} == {TENANT_A}, table.name
            found = sa.text(f"SELECT count(*) FROM \"{table.name}\" WHERE tenant_id = '{TENANT_B}'")
            assert (await session.execute(found)).scalar_one() == 0, table.name


async def test_raw_updates_and_deletes_touch_only_the_tenants_rows(migrated: Migrated) -> None:
    a = Scope(tenant_id=TENANT_A)
    for table in migrated.tables:
        name = table.name
        assert await outcome(migrated.url, a, sa.text(f'UPDATE "{name}" SET tenant_id = tenant_id')) == ROWS_PER_TENANT
        assert await outcome(migrated.url, a, sa.text(f'DELETE FROM "{name}"')) == ROWS_PER_TENANT
        others = sa.text(f'DELETE FROM "{name}" WHERE tenant_id = :t')
        assert await outcome(migrated.url, a, others, {"t": TENANT_B}) == 0, name
        # Nor can a row of A be handed over to B.
        move = sa.text(f'UPDATE "{name}" SET tenant_id = :t')
        result = await outcome(migrated.url, a, move, {"t": TENANT_B})
        assert _refused(result), (name, result)


async def test_a_raw_insert_of_another_tenants_row_is_refused(migrated: Migrated) -> None:
    a = Scope(tenant_id=TENANT_A)
    for table in migrated.tables:
        result = await outcome(migrated.url, a, table.insert().values(**fake_row(table, TENANT_B)))
        assert _refused(result), (table.name, result)
        # Its own row passes the policy; foreign keys (checked after the policy, by AFTER triggers) may
        # still refuse the made-up references, which says the policy let it through.
        own = await outcome(migrated.url, a, table.insert().values(**fake_row(table, TENANT_A)))
        assert own == 1 or "violates foreign key constraint" in str(own), (table.name, own)


async def test_audit_tables_take_untenanted_entries_that_only_system_sessions_read(migrated: Migrated) -> None:
    audit = [table for table in migrated.tables if migrated.nullable_tenant(table)]
    assert audit, "every subgraph has an audit table with a nullable tenant"
    for table in audit:
        for scope in (Scope(), Scope(tenant_id=TENANT_A)):
            assert await outcome(migrated.url, scope, table.insert().values(**fake_row(table, None))) == 1
        async with transaction(migrated.url, Scope(tenant_id=TENANT_A)) as session:
            await session.execute(table.insert().values(**fake_row(table, None)))
            assert None not in await tenants_seen(session, table)


async def test_an_anonymous_session_reads_and_writes_no_tenant_rows(migrated: Migrated) -> None:
    anonymous = Scope()
    async with transaction(migrated.url, anonymous) as session:
        for table in migrated.tables:
            assert await tenants_seen(session, table) == [], table.name
    for table in migrated.tables:
        assert await outcome(migrated.url, anonymous, sa.text(f'UPDATE "{table.name}" SET tenant_id = tenant_id')) == 0
        assert await outcome(migrated.url, anonymous, sa.text(f'DELETE FROM "{table.name}"')) == 0
        result = await outcome(migrated.url, anonymous, table.insert().values(**fake_row(table, TENANT_A)))
        assert _refused(result), (table.name, result)


async def test_a_system_session_reads_every_tenant(migrated: Migrated) -> None:
    async with transaction(migrated.url, SYSTEM) as session:
        for table in migrated.tables:
            seen = await tenants_seen(session, table)
            assert seen.count(TENANT_A) == seen.count(TENANT_B) == ROWS_PER_TENANT, table.name


async def test_the_public_read_pool_sees_every_tenant_and_never_writes(migrated: Migrated) -> None:
    database = Database(migrated.url)
    try:
        async with database.public_read() as connection:
            for table in migrated.tables:
                rows = await connection.execute(sa.text(f'SELECT tenant_id FROM "{table.name}"'))
                seen = [row[0] for row in rows]
                assert seen.count(TENANT_A) == seen.count(TENANT_B) == ROWS_PER_TENANT, table.name
                with pytest.raises(DBAPIError, match="read-only transaction"):
                    await connection.execute(sa.text(f'UPDATE "{table.name}" SET tenant_id = tenant_id'))
                with pytest.raises(DBAPIError, match="read-only transaction"):
                    await connection.execute(sa.text(f'DELETE FROM "{table.name}"'))
            # in autocommit a failed statement leaves nothing aborted: the next one on the connection runs
            assert (await connection.execute(sa.text("SELECT 1"))).scalar() == 1
    finally:
        await database.dispose()
    # a scoped session never carries the public read, whatever the pool's connections do
    for scope in (Scope(), Scope(tenant_id=TENANT_A)):
        own = [TENANT_A] * ROWS_PER_TENANT if scope.tenant_id else []
        async with transaction(migrated.url, scope) as session:
            for table in migrated.tables:
                assert await tenants_seen(session, table) == own, table.name


async def test_a_scope_changed_inside_a_transaction_moves_the_database_scope_along(migrated: Migrated) -> None:
    table = migrated.tables[0]
    async with transaction(migrated.url, Scope(tenant_id=TENANT_A)) as session:
        assert set(await tenants_seen(session, table)) == {TENANT_A}
        session.sync_session.info[SCOPE_KEY] = Scope(tenant_id=TENANT_B)
        assert set(await tenants_seen(session, table)) == {TENANT_B}
        session.sync_session.info[SCOPE_KEY] = Scope(tenant_id=TENANT_A)
        assert set(await tenants_seen(session, table)) == {TENANT_A}


async def test_a_rolled_back_savepoint_does_not_take_the_database_scope_back(migrated: Migrated) -> None:
    # PostgreSQL's rollback of a savepoint reverts the settings set inside it (SET LOCAL): the session
    # must not believe its scope is still applied, or its raw statements would see the old tenant's rows
    table = migrated.tables[0]
    async with transaction(migrated.url, Scope(tenant_id=TENANT_A)) as session:
        assert set(await tenants_seen(session, table)) == {TENANT_A}
        savepoint = await session.begin_nested()
        session.sync_session.info[SCOPE_KEY] = Scope(tenant_id=TENANT_B)
        assert set(await tenants_seen(session, table)) == {TENANT_B}
        await savepoint.rollback()
        assert set(await tenants_seen(session, table)) == {TENANT_B}
