"""Migrations and the demo seed: valid on both backends, and seeding twice changes nothing."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.templates.models import TemplateEnablement, TemplateFieldLink, TemplateFieldRow, TemplateRow
from tests.support.subgraphs import prepare_database


def row_counts(database_url: str) -> dict[str, int]:
    async def run() -> dict[str, int]:
        database = Database(database_url)
        try:
            async with database.system_session() as session:
                counts = {}
                for model in (TemplateRow, TemplateFieldRow, TemplateFieldLink, TemplateEnablement):
                    stmt = sa.select(sa.func.count()).select_from(model)
                    counts[model.__tablename__] = int((await session.execute(stmt)).scalar_one())
                return counts
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_migrations_apply_and_seeding_is_idempotent(database_url_factory) -> None:
    url = database_url_factory("templates_seed")
    prepare_database("templates", url, seed=False)
    assert row_counts(url) == {
        "templates_templates": 0,
        "templates_fields": 0,
        "templates_template_fields": 0,
        "templates_enablements": 0,
    }
    expected = {
        "templates_templates": len(demo.TEMPLATES),
        "templates_fields": sum(len(t.fields) for t in demo.TEMPLATES),
        "templates_template_fields": sum(len(t.fields) for t in demo.TEMPLATES),
        "templates_enablements": len(demo.TEMPLATE_ENABLEMENTS),
    }
    prepare_database("templates", url, seed=True)
    assert row_counts(url) == expected
    prepare_database("templates", url, seed=True)
    assert row_counts(url) == expected
