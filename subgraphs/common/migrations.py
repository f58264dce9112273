"""Alembic, driven from Python: each subgraph has its own history and version table.

``python -m subgraphs.migrate NAME upgrade`` (or :func:`upgrade`) applies a
subgraph's migrations to its database; ``... revision -m MSG`` autogenerates a
new one from the SQLModel tables whose names carry the subgraph's prefix.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from subgraphs.common.db import ensure_sqlite_directory
from subgraphs.common.service import ServiceDefinition


def alembic_config(definition: ServiceDefinition, database_url: str) -> Config:
    """An Alembic config for ``definition`` against ``database_url`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(definition.migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["definition"] = definition
    return config


def upgrade(definition: ServiceDefinition, database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (blocking; call from a thread inside an event loop)."""
    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(definition, database_url), revision)


def autogenerate(definition: ServiceDefinition, database_url: str, message: str) -> None:
    """Write a new revision with the differences between the models and the database."""
    command.revision(alembic_config(definition, database_url), message=message, autogenerate=True)


def run_env(context: Any) -> None:
    """The body of every subgraph's ``migrations/env.py``."""
    config = context.config
    definition: ServiceDefinition = config.attributes["definition"]
    url = config.get_main_option("sqlalchemy.url")

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        if type_ == "table":
            return name is not None and name.startswith(definition.table_prefix) and name != definition.version_table
        return True

    def configure(connection: Any) -> None:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            include_name=include_name,
            version_table=definition.version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together on an empty database would otherwise race to
                # create the same tables, and the loser would crash-restart: the first one
                # migrates while the others wait here, then find nothing left to do.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": definition.version_table}
                )
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(configure)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())
