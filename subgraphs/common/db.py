"""Engines and sessions: SQLite by default, PostgreSQL through asyncpg.

Each :class:`Database` counts the SQL statements it executes (exported on
``/metrics``), which is how the tests prove that no query does N+1 round trips.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.tenancy import SCOPE_KEY, SYSTEM, Scope, ScopedSession


class StatementCounter:
    """Counts statements sent to the database; observers see each increment (for metrics)."""

    def __init__(self) -> None:
        self.count = 0
        self._observers: list[Any] = []

    def observe(self, callback: Any) -> None:
        """Call ``callback()`` after each statement."""
        self._observers.append(callback)

    def __call__(self, *_args: Any, **_kwargs: Any) -> None:
        self.count += 1
        for callback in self._observers:
            callback()


class Database:
    """An async engine plus a session factory whose sessions enforce tenant scoping."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.statements = StatementCounter()
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **_engine_options(url))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(self.engine.sync_engine, "before_cursor_execute", self.statements)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, sync_session_class=ScopedSession, expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def session(self, scope: Scope) -> AsyncSession:
        """A new session that sees only what ``scope`` allows."""
        session = self._sessions()
        session.sync_session.info[SCOPE_KEY] = scope
        return session

    @asynccontextmanager
    async def system_session(self) -> AsyncIterator[AsyncSession]:
        """An unrestricted session for migrations, seeding and tests; commits on success."""
        async with self.session(SYSTEM) as session:
            async with session.begin():
                yield session

    async def dispose(self) -> None:
        """Close pooled connections."""
        await self.engine.dispose()


def _engine_options(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"timeout": 30}}
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
