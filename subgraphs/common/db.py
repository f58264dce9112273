"""Engines and sessions: SQLite by default, PostgreSQL through asyncpg.

Each :class:`Database` counts the SQL statements it executes (exported on
``/metrics``), which is how the tests prove that no query does N+1 round trips.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.rls import PUBLIC_READ_SETTING, TENANT_SETTING, UNRESTRICTED_SETTING
from subgraphs.common.tenancy import SCOPE_KEY, SYSTEM, Scope, ScopedSession

log = logging.getLogger("dpp.db")

# PostgreSQL connections a subgraph process keeps open, and how many more it may open for a burst
# (closed again when returned while the pool is full).
POOL_SIZE = 10
MAX_OVERFLOW = 10

# A pooled PostgreSQL connection is pinged before use only when it sat in the pool longer than this
# (seconds). SQLAlchemy's pool_pre_ping pinged on every checkout, which asyncpg does in three round trips
# (BEGIN, an empty statement, ROLLBACK) before the request's first statement: on a busy pool that is
# three more turns of a busy event loop per request, for a connection that worked moments ago. What
# closes a connection meanwhile (a restart, a failover, pg_terminate_backend, idle_session_timeout)
# closes its socket, which asyncpg notices while the event loop runs and the checkout sees without a
# round trip (:class:`_PoolChecks`); the ping is for what sends nothing (a lost network path or host).
# SQLAlchemy's queue hands out the pool's connections in turn (FIFO), so each sits about
# POOL_SIZE / (checkouts a second): above 2 checkouts a second none is pinged; below, the pool is
# nearly idle and a ping (well under a millisecond on a LAN) delays no queue of requests.
IDLE_PING_AFTER = 5.0

# PostgreSQL connections of the public-read pool (Database.public_read), and how many more for a burst.
PUBLIC_POOL_SIZE = 5
# What every connection of the public-read pool carries for its whole life (asyncpg sends them in the
# startup message: no statement of their own). See subgraphs/common/rls.py: no tenant, not unrestricted,
# the public read on (SELECT only, by the policies), and every transaction read-only.
PUBLIC_READ_SETTINGS = {
    TENANT_SETTING: "",
    UNRESTRICTED_SETTING: "off",
    PUBLIC_READ_SETTING: "on",
    "default_transaction_read_only": "on",
}


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


class _TaskLock:
    """An asyncio lock that the task holding it may enter again (AsyncSession methods call each other)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            yield
            return
        async with self._lock:
            self._owner = task
            try:
                yield
            finally:
                self._owner = None


def _serialized(name: str) -> Any:
    async def method(self: SerializedAsyncSession, *args: Any, **kwargs: Any) -> Any:
        async with self._guard.hold():
            return await getattr(super(SerializedAsyncSession, self), name)(*args, **kwargs)

    method.__name__ = name
    return method


class SerializedAsyncSession(AsyncSession):
    """An AsyncSession that several resolvers of one request may share.

    GraphQL resolves sibling fields concurrently, but a session (one connection)
    allows one operation at a time; asyncpg refuses overlapping use outright.
    Each database-touching method waits for the previous one to finish.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard = _TaskLock()

    exec = _serialized("exec")
    execute = _serialized("execute")
    scalar = _serialized("scalar")
    scalars = _serialized("scalars")
    get = _serialized("get")
    get_one = _serialized("get_one")
    delete = _serialized("delete")
    merge = _serialized("merge")
    flush = _serialized("flush")
    refresh = _serialized("refresh")
    commit = _serialized("commit")
    rollback = _serialized("rollback")
    close = _serialized("close")
    run_sync = _serialized("run_sync")


class Database:
    """An async engine plus a session factory whose sessions enforce tenant scoping."""

    def __init__(self, url: str, *, echo: bool = False, idle_ping_after: float = IDLE_PING_AFTER) -> None:
        """``idle_ping_after``: seconds a pooled PostgreSQL connection may sit unused before it is pinged."""
        self.url = url
        self.statements = StatementCounter()
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **_engine_options(url))
        self._idle_ping_after = idle_ping_after
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._observe(self.engine)
        self._sessions = async_sessionmaker(
            self.engine, class_=SerializedAsyncSession, sync_session_class=ScopedSession, expire_on_commit=False
        )
        self._public: AsyncEngine | None = None

    def _observe(self, engine: AsyncEngine) -> None:
        """Count ``engine``'s statements; on PostgreSQL, check its pooled connections (:class:`_PoolChecks`)."""
        if engine.dialect.name != "sqlite":
            checks = _PoolChecks(engine.dialect, self._idle_ping_after)
            event.listen(engine.sync_engine, "checkin", checks.checkin)
            event.listen(engine.sync_engine, "checkout", checks.checkout)
        event.listen(engine.sync_engine, "before_cursor_execute", self.statements)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def session(self, scope: Scope) -> SerializedAsyncSession:
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

    @asynccontextmanager
    async def public_read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading what is public by nature, of any tenant (a published passport behind its QR code).

        On PostgreSQL it comes from a pool of its own whose connections carry the public read for their
        whole life (:data:`PUBLIC_READ_SETTINGS`) in autocommit: a read is one round trip, where a scoped
        session's costs three (BEGIN, the row-level-security settings, the statement) and a ROLLBACK;
        on ``make bench-dpp``'s QR path every public-view cache miss paid them on a busy event loop.
        Row-level security lets it SELECT only, and PostgreSQL refuses any write (read-only
        transactions). The statement must filter what it reads itself (by the public uuid): nothing
        scopes it to a tenant. On SQLite (no row-level security, no tenant filter on a plain
        connection) a connection of the main engine.
        """
        engine = self.engine if self.dialect == "sqlite" else self._public_engine()
        async with engine.connect() as connection:
            yield connection

    def _public_engine(self) -> AsyncEngine:
        if self._public is None:
            engine = create_async_engine(
                self.url,
                pool_size=PUBLIC_POOL_SIZE,
                max_overflow=MAX_OVERFLOW,
                isolation_level="AUTOCOMMIT",
                connect_args={"server_settings": PUBLIC_READ_SETTINGS},
            )
            self._observe(engine)
            self._public = engine
        return self._public

    async def warm(self) -> int:
        """Open the pool's connections now (PostgreSQL; SQLite has nothing to open); how many were opened.

        The pool otherwise opens a connection the first time that many requests need one at once,
        which is during a burst: on ``make bench-dpp``'s QR path at 80% of its peak on PostgreSQL
        (open loop, public-view cache misses) the passport subgraph opened twelve connections within
        115 ms (PostgreSQL's log, ``log_connections``), each a backend started plus asyncpg's setup,
        while the requests that needed them waited. A database that is down at startup is logged,
        not fatal: the pool then opens connections on demand as before.
        """
        if self.dialect == "sqlite":
            return 0
        opened = await asyncio.gather(
            *(self.engine.connect().start() for _ in range(POOL_SIZE)), return_exceptions=True
        )
        failures = [result for result in opened if isinstance(result, BaseException)]
        for result in opened:
            if not isinstance(result, BaseException):
                await result.close()  # back to the pool, open
        if failures:
            log.warning("could not open the database pool at startup (%s); connections open on demand", failures[0])
        return len(opened) - len(failures)

    async def dispose(self) -> None:
        """Close pooled connections."""
        await self.engine.dispose()
        if self._public is not None:
            await self._public.dispose()


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite file URL (SQLite creates the file, not its folder)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _engine_options(url: str) -> dict[str, Any]:
    if make_url(url).get_backend_name() == "sqlite":
        ensure_sqlite_directory(url)
        return {"connect_args": {"timeout": 30}}
    return {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}


_RETURNED_AT = "dpp_returned_at"


class _PoolChecks:
    """Pool events that hand out only live PostgreSQL connections, pinging only those that sat idle.

    On checkout, a connection whose socket the server closed while it sat in the pool is replaced
    (asyncpg's ``is_closed()``, no round trip); one that sat unused longer than ``idle_after`` seconds
    is pinged (the dialect's ping, as ``pool_pre_ping`` did on every checkout), and replaced, with the
    rest of the pool marked stale as ``pool_pre_ping`` does, when the ping finds it disconnected. A
    connection that is new (opened for this checkout; its info is cleared then) is not pinged. Raising
    :class:`~sqlalchemy.exc.DisconnectionError` from a checkout event makes the pool open a new
    connection in its place (SQLAlchemy's "Disconnect Handling - Pessimistic", custom checks).
    A connection that dies while in use fails its statement; SQLAlchemy's disconnect detection then
    invalidates the pool, so the next checkout opens a new one.
    """

    def __init__(self, dialect: Dialect, idle_after: float) -> None:
        self._dialect = dialect
        self._idle_after = idle_after

    def checkin(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def checkout(self, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned_at = record.info.pop(_RETURNED_AT, None)
        driver = record.driver_connection
        if driver is not None and driver.is_closed():
            raise exc.DisconnectionError("the server closed this pooled connection")
        if returned_at is None or time.monotonic() - returned_at <= self._idle_after:
            return
        try:
            self._dialect.do_ping(dbapi_connection)
        except self._dialect.loaded_dbapi.Error as error:
            if self._dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError(f"idle pooled connection failed its ping: {error!r}") from error
            raise


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
