"""Tenant scoping of statements that bypass the ORM entities, on both backends.

The ORM filter of :mod:`subgraphs.common.tenancy` (``with_loader_criteria``) only
reaches ORM entities; a Core statement over a tenant-owned table's ``__table__``
used to read every tenant's rows through a tenant-scoped session on SQLite (60
products instead of Acme's 36). Such statements are now refused with
:class:`~subgraphs.common.tenancy.UnscopedStatement` before they reach the
database, while every ORM shape (entities, entity attributes as in
``loaders.keyed_select``, counts, joins, subqueries) stays filtered.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col

from subgraphs.catalog.models import Category, Product
from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.common.loaders import KEYS, columns_of, keyed_select
from subgraphs.common.tenancy import SYSTEM, Scope, UnscopedStatement
from tests.support.subgraphs import prepare_database

ACME = demo.tenant("acme").id
PRODUCTS = Product.__table__  # type: ignore[attr-defined]
ALL_PRODUCTS, ACME_PRODUCTS = 60, 36


def core_shapes() -> dict[str, Any]:
    """Statements that read the products table without going through ``Product``."""
    return {
        "core column": sa.select(PRODUCTS.c.id),
        "core table": sa.select(PRODUCTS),
        "core table alias": sa.select(PRODUCTS.alias("p").c.id),
        "core count": sa.select(sa.func.count()).select_from(PRODUCTS),
        "core join": sa.select(col(Category.id)).join(PRODUCTS, PRODUCTS.c.category_id == Category.id),
        "core subquery": sa.select(sa.func.count()).select_from(sa.select(PRODUCTS.c.id).subquery()),
        "core exists": sa.select(col(Category.id)).where(sa.exists().where(PRODUCTS.c.category_id == Category.id)),
        "core column after an ORM one": sa.select(col(Product.id), PRODUCTS.c.name),
        "lightweight table": sa.select(sa.table("catalog_products", sa.column("id"))),
        "core union": sa.union_all(sa.select(col(Product.id)), sa.select(PRODUCTS.c.id)),
        "core cte": sa.select(sa.select(PRODUCTS.c.id).cte("c")),
    }


def orm_shapes() -> dict[str, Any]:
    """ORM statements: each must see Acme's products only."""
    return {
        "entity": sa.select(Product),
        "attributes": sa.select(col(Product.id), col(Product.name)),
        "keyed_select (every column attribute)": sa.select(*columns_of(Product)),
        "count of entity": sa.select(sa.func.count()).select_from(Product),
        "count of attribute": sa.select(sa.func.count(col(Product.id))),
        "join to entity": sa.select(col(Product.id)).join(Category, col(Product.category_id) == Category.id),
        "subquery of entity": sa.select(sa.select(col(Product.id)).subquery()),
        "aliased entity": sa.select(col(aliased(Product).id)),
    }


def rows_of(url: str, scope: Scope, statements: dict[str, Any]) -> dict[str, int | str]:
    """Rows each statement returns through a session with ``scope``, or the name of its refusal."""

    async def run() -> dict[str, int | str]:
        database = Database(url)
        seen: dict[str, int | str] = {}
        try:
            for name, statement in statements.items():
                async with database.session(scope) as session:
                    try:
                        rows = (await session.execute(statement)).all()
                    except UnscopedStatement:
                        seen[name] = "refused"
                        continue
                    seen[name] = rows[0][0] if "count" in name and len(rows) == 1 else len(rows)
        finally:
            await database.dispose()
        return seen

    return asyncio.run(run())


@pytest.fixture(scope="module")
def catalog_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('tenancy') / 'catalog.db').as_posix()}"
    prepare_database("catalog", url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest) -> str:
    """A migrated, seeded catalog database on each backend (made once per module and backend)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("catalog_sqlite"))
    return str(request.getfixturevalue("catalog_postgres"))


@pytest.fixture(scope="module")
def catalog_postgres(postgres_server: Any) -> str:
    url = str(postgres_server.create_database("tenancy_core"))
    prepare_database("catalog", url)
    return url


def test_core_reads_of_a_tenant_table_are_refused_in_a_tenant_session(catalog_url: str) -> None:
    shapes = core_shapes()
    assert rows_of(catalog_url, Scope(tenant_id=ACME), shapes) == dict.fromkeys(shapes, "refused")
    # An anonymous session too: it would otherwise see every tenant's rows.
    assert rows_of(catalog_url, Scope(), shapes) == dict.fromkeys(shapes, "refused")


def test_orm_reads_stay_filtered_to_the_tenant(catalog_url: str) -> None:
    shapes = orm_shapes()
    assert rows_of(catalog_url, Scope(tenant_id=ACME), shapes) == dict.fromkeys(shapes, ACME_PRODUCTS)
    assert rows_of(catalog_url, Scope(), shapes) == dict.fromkeys(shapes, 0)


def test_keyed_select_with_keys_of_every_tenant_returns_the_tenants_rows_only(catalog_url: str) -> None:
    async def run() -> tuple[int, int]:
        database = Database(catalog_url)
        try:
            async with database.system_session() as session:
                ids = list((await session.execute(sa.select(PRODUCTS.c.id))).scalars())
            statement = keyed_select(Product, col(Product.id))
            async with database.session(Scope(tenant_id=ACME)) as session:
                rows = (await session.execute(statement, {KEYS: ids})).all()
            return len(ids), len(rows)
        finally:
            await database.dispose()

    assert asyncio.run(run()) == (ALL_PRODUCTS, ACME_PRODUCTS)


def test_system_sessions_still_run_core_statements(catalog_url: str) -> None:
    core = {"core column": sa.select(PRODUCTS.c.id), "core count": sa.select(sa.func.count()).select_from(PRODUCTS)}
    assert rows_of(catalog_url, SYSTEM, core) == dict.fromkeys(core, ALL_PRODUCTS)


def test_raw_text_naming_a_tenant_table_is_refused_on_sqlite(catalog_sqlite: str) -> None:
    # SQLite has no row-level security under the ORM filter: raw SQL naming a tenant table
    # (however quoted or cased) is refused; raw SQL about other tables runs.
    statements = {
        "plain": sa.text("SELECT id FROM catalog_products"),
        "quoted, upper case": sa.text('SELECT id FROM "CATALOG_PRODUCTS"'),
        "text in a where": sa.select(col(Category.id)).where(
            sa.text("EXISTS (SELECT 1 FROM catalog_products p WHERE p.category_id = catalog_categories.id)")
        ),
    }
    assert rows_of(catalog_sqlite, Scope(tenant_id=ACME), statements) == dict.fromkeys(statements, "refused")
    others = {"categories": sa.text("SELECT id FROM catalog_categories"), "pragma": sa.text("PRAGMA foreign_keys")}
    assert rows_of(catalog_sqlite, Scope(tenant_id=ACME), others) == {"categories": 6, "pragma": 1}
    assert rows_of(catalog_sqlite, SYSTEM, {"plain": statements["plain"]}) == {"plain": ALL_PRODUCTS}


def rows_written(url: str, scope: Scope, statement: Any) -> int | str:
    """Rows ``statement`` touches in a transaction that is rolled back, or the name of its refusal."""

    async def run() -> int | str:
        database = Database(url)
        try:
            async with database.session(scope) as session:
                await session.begin()
                try:
                    return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]
                except UnscopedStatement:
                    return "refused"
                finally:
                    await session.rollback()
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_orm_bulk_updates_and_deletes_touch_only_the_tenants_rows(catalog_url: str) -> None:
    # They used to be left unfiltered (only SELECTs were): on SQLite every tenant's rows.
    sync = {"synchronize_session": False}
    update = sa.update(Product).values(name=Product.name).execution_options(**sync)
    delete = sa.delete(Product).where(col(Product.is_enabled).is_(False)).execution_options(**sync)
    assert rows_written(catalog_url, Scope(tenant_id=ACME), update) == ACME_PRODUCTS
    assert rows_written(catalog_url, Scope(), update) == 0
    assert rows_written(catalog_url, SYSTEM, update) == ALL_PRODUCTS
    disabled = rows_of(catalog_url, Scope(tenant_id=ACME), {"d": sa.select(Product).where(~col(Product.is_enabled))})
    assert rows_written(catalog_url, Scope(tenant_id=ACME), delete) == disabled["d"]


def test_core_writes_of_a_tenant_table_are_refused_on_sqlite(catalog_sqlite: str) -> None:
    # No row-level security under the filter there; on PostgreSQL the policies scope them
    # (tests/common/test_rls.py runs raw writes through tenant sessions on purpose).
    acme = Scope(tenant_id=ACME)
    assert rows_written(catalog_sqlite, acme, sa.update(PRODUCTS).values(name=PRODUCTS.c.name)) == "refused"
    assert rows_written(catalog_sqlite, acme, sa.delete(PRODUCTS)) == "refused"
    assert rows_written(catalog_sqlite, acme, sa.text("UPDATE catalog_products SET name = name")) == "refused"
    assert rows_written(catalog_sqlite, acme, sa.insert(Product).values(id="x", tenant_id="other")) == "refused"
    assert rows_written(catalog_sqlite, SYSTEM, sa.update(PRODUCTS).values(name=PRODUCTS.c.name)) == ALL_PRODUCTS


@pytest.mark.postgres
def test_core_writes_of_a_tenant_table_run_under_row_level_security_on_postgres(catalog_postgres: str) -> None:
    update = sa.update(PRODUCTS).values(name=PRODUCTS.c.name)
    assert rows_written(catalog_postgres, Scope(tenant_id=ACME), update) == ACME_PRODUCTS
