"""Persistence on both backends: idempotent seed, and tenant scoping of every shape of SELECT."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlmodel import col

from subgraphs.catalog.models import Category, Product
from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.common.tenancy import Scope
from tests.support.subgraphs import prepare_database


def test_seed_is_idempotent_and_scoping_covers_counts_joins_and_subqueries(database_url_factory) -> None:
    url = database_url_factory("catalog")
    prepare_database("catalog", url)
    prepare_database("catalog", url)  # a second run adds nothing

    acme = demo.tenant("acme").id

    async def run() -> tuple[int, int, list[int]]:
        database = Database(url)
        try:
            async with database.system_session() as session:
                all_products = (await session.exec(sa.select(sa.func.count()).select_from(Product))).scalar_one()
                categories = (await session.exec(sa.select(sa.func.count()).select_from(Category))).scalar_one()
            async with database.session(Scope(tenant_id=acme)) as session:
                shapes = [
                    sa.select(sa.func.count()).select_from(Product),
                    sa.select(sa.func.count()).select_from(sa.select(Product).subquery()),
                    sa.select(sa.func.count()).select_from(
                        sa.select(col(Product.id)).where(col(Product.is_enabled).is_(True)).subquery()
                    ),
                    sa.select(sa.func.count()).select_from(Category).join(Product, Product.category_id == Category.id),
                    sa.select(sa.func.count(col(Product.id))),
                ]
                scoped = [int((await session.exec(shape)).scalar_one()) for shape in shapes]
            return int(all_products), int(categories), scoped
        finally:
            await database.dispose()

    all_products, categories, scoped = asyncio.run(run())
    assert (all_products, categories) == (60, 6)
    # Each shape sees Acme's 36 products only, however the tenant-owned table enters the query.
    assert scoped == [36, 36, 36, 36, 36]
