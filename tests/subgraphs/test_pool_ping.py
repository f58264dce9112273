"""A pooled PostgreSQL connection is pinged only when it sat idle; dead ones are still replaced.

SQLAlchemy's ``pool_pre_ping`` pinged every checkout, which asyncpg does in three round trips (``BEGIN``,
an empty statement ``;``, ``ROLLBACK``) before the request's first statement. :class:`~subgraphs.common.db.Database`
pings only a connection that sat in the pool longer than ``idle_ping_after`` seconds, and replaces, without a
round trip, one whose socket the server closed while it sat there. What the driver sent is read from asyncpg's
own query log (``Connection.add_query_logger``: the simple-protocol queries and fetches, which is how
``BEGIN``, ``ROLLBACK`` and the ping's ``;`` go; SQLAlchemy's prepared statements are not in it).

Killing the pool's backends (``pg_terminate_backend`` from a superuser connection) is what a PostgreSQL
restart does to the client: the server sends a FATAL error and closes the socket.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InvalidatePoolError

from subgraphs.common import demo
from subgraphs.common.db import Database
from tests.support.postgres import run_as_superuser
from tests.support.servers import free_port
from tests.support.subgraphs import running_subgraph

pytestmark = pytest.mark.postgres

PING = ";"  # the statement of SQLAlchemy's asyncpg ping, between a BEGIN and a ROLLBACK
PUBLIC = "query($uuid: String!) { publicPassport(uuid: $uuid) { uuid name fields { key value } } }"


def _kill_backends(port: int, url: str, *, waiting_on_a_lock: bool = False) -> int:
    """Terminate the application's backends on ``url``'s database (from a superuser connection); how many.

    Returns when they have exited, so their goodbye (a FATAL error, then the socket closed) was sent.
    """
    backends = "FROM pg_stat_activity WHERE datname = $1 AND usename <> 'postgres' AND pid <> pg_backend_pid()"
    lock = " AND wait_event_type = 'Lock'" if waiting_on_a_lock else ""
    database = make_url(url).database

    async def kill(connection: Any) -> int:
        killed = int(await connection.fetchval(f"SELECT count(pg_terminate_backend(pid)) {backends}{lock}", database))
        for _ in range(500):
            if killed == 0 or await connection.fetchval(f"SELECT count(*) {backends}{lock}", database) == 0:
                break
            await asyncio.sleep(0.01)
        return killed

    return run_as_superuser(port, "postgres", kill)


def _block_the_event_loop(seconds: float) -> None:
    """Sleep without letting the event loop run (so asyncpg reads nothing from its sockets meanwhile)."""
    time.sleep(seconds)


class _Pool:
    """A :class:`Database` on PostgreSQL whose connections log the queries asyncpg sends."""

    def __init__(self, url: str, idle_ping_after: float) -> None:
        self.database = Database(url, idle_ping_after=idle_ping_after)
        self.sent: list[str] = []
        self.invalidated: list[BaseException | None] = []  # why the pool dropped a connection
        event.listen(self.database.engine.sync_engine, "connect", self._log_queries)
        event.listen(self.database.engine.sync_engine, "invalidate", self._log_invalidation)

    def _log_queries(self, _dbapi_connection: Any, record: Any) -> None:
        record.driver_connection.add_query_logger(lambda logged: self.sent.append(logged.query))

    def _log_invalidation(self, _dbapi_connection: Any, _record: Any, error: BaseException | None) -> None:
        self.invalidated.append(error)

    async def select_one(self) -> list[str]:
        """One checkout running ``select 1``; what the driver sent meanwhile (query logs arrive via call_soon)."""
        self.sent.clear()
        async with self.database.engine.connect() as connection:
            assert (await connection.execute(text("select 1"))).scalar() == 1
        await asyncio.sleep(0)
        return list(self.sent)


def _with_pool(url: str, idle_ping_after: float, work: Callable[[_Pool], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        pool = _Pool(url, idle_ping_after)
        try:
            return await work(pool)
        finally:
            await pool.database.dispose()

    return asyncio.run(main())


def test_a_busy_pool_does_not_ping(postgres_server: Any) -> None:
    url = postgres_server.create_database("pool_ping")

    async def work(pool: _Pool) -> list[list[str]]:
        return [await pool.select_one() for _ in range(5)]

    # one connection, handed out five times in a row: each checkout sends its own transaction's BEGIN and
    # ROLLBACK (and its statement) and nothing else. With pool_pre_ping every checkout after the first sent
    # BEGIN, ';', ROLLBACK before it: three round trips more.
    assert _with_pool(url, 5.0, work) == [["BEGIN;", "ROLLBACK;"]] * 5


def test_a_connection_idle_past_the_threshold_is_pinged(postgres_server: Any) -> None:
    url = postgres_server.create_database("pool_ping")

    async def work(pool: _Pool) -> list[str]:
        await pool.select_one()
        await asyncio.sleep(0.3)
        return await pool.select_one()

    assert _with_pool(url, 0.2, work) == ["BEGIN;", PING, "ROLLBACK;", "BEGIN;", "ROLLBACK;"]


def test_connections_the_server_closed_while_pooled_are_replaced_without_a_ping(postgres_server: Any) -> None:
    url = postgres_server.create_database("pool_ping")

    async def work(pool: _Pool) -> list[str]:
        await pool.database.warm()
        assert _kill_backends(postgres_server.port, url) == 10
        await asyncio.sleep(0.3)  # the event loop reads the server's goodbye: asyncpg marks the connections closed
        sent = await pool.select_one()
        assert [type(error) for error in pool.invalidated] == [DisconnectionError], pool.invalidated
        assert "the server closed this pooled connection" in str(pool.invalidated[0])
        return sent

    # not idle past the threshold, so not pinged: the closed connection is seen closed and replaced by a new one
    assert _with_pool(url, 60.0, work) == ["BEGIN;", "ROLLBACK;"]


def test_connections_killed_while_idle_past_the_threshold_are_found_by_the_ping(postgres_server: Any) -> None:
    url = postgres_server.create_database("pool_ping")

    async def work(pool: _Pool) -> list[BaseException | None]:
        await pool.database.warm()
        assert _kill_backends(postgres_server.port, url) == 10
        _block_the_event_loop(0.3)  # asyncpg has not read the server's goodbye, as if it never came
        assert await pool.select_one() == ["BEGIN;", "ROLLBACK;"]  # on a new connection (not pinged: new)
        return pool.invalidated

    # the ping failed on the dead connection (asyncpg forgets its query log then, so the ping is not in it);
    # as pool_pre_ping does, the rest of the pool is marked stale too, and replaced when next checked out
    (error,) = _with_pool(url, 0.2, work)
    assert isinstance(error, InvalidatePoolError) and "failed its ping" in str(error), error


def test_a_connection_killed_before_the_driver_noticed_fails_once_then_the_pool_recovers(postgres_server: Any) -> None:
    """The gap the idle ping leaves: a connection returned moments ago, dead, and the client has not read it yet.

    Its first statement fails with a disconnect error; SQLAlchemy invalidates the whole pool, and the next
    checkout opens a new connection. With a running event loop the window is a loop turn (see the test above
    with ``asyncio.sleep``); a connection that dies while a request uses it fails the same way, which
    ``pool_pre_ping`` did not prevent either.
    """
    url = postgres_server.create_database("pool_ping")

    async def work(pool: _Pool) -> tuple[DBAPIError, list[str]]:
        await pool.database.warm()
        assert _kill_backends(postgres_server.port, url) == 10
        _block_the_event_loop(0.3)
        with pytest.raises(DBAPIError) as failed:
            await pool.select_one()
        return failed.value, await pool.select_one()

    error, sent = _with_pool(url, 60.0, work)
    assert error.connection_invalidated
    assert "terminating connection due to administrator command" in str(error)
    assert sent == ["BEGIN;", "ROLLBACK;"]


@pytest.fixture
def passport(postgres_server: Any) -> Iterator[tuple[str, str]]:
    """A passport subgraph on PostgreSQL without its public view cache (every read runs its statements)."""
    url = postgres_server.create_database("pool_ping_passport")
    urls = {
        "catalog": f"http://127.0.0.1:{free_port()}/graphql",
        "templates": f"http://127.0.0.1:{free_port()}/graphql",
    }
    with running_subgraph("passport", url, service_urls=urls, public_passport_cache_size=0) as server:
        yield server.url + "/graphql", url


def _public_read(endpoint: str) -> dict[str, Any]:
    uuid = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_01").public_uuid
    return dict(httpx.post(endpoint, json={"query": PUBLIC, "variables": {"uuid": uuid}}, timeout=30).json())


def test_a_served_subgraph_answers_right_after_its_connections_were_killed(
    postgres_server: Any, passport: tuple[str, str]
) -> None:
    endpoint, url = passport
    assert "errors" not in _public_read(endpoint)
    assert _kill_backends(postgres_server.port, url) >= 1
    time.sleep(0.3)
    answers = [_public_read(endpoint) for _ in range(3)]
    assert all("errors" not in answer and answer["data"]["publicPassport"] for answer in answers), answers


def test_a_request_whose_connection_is_killed_mid_statement_gets_a_retryable_error(
    postgres_server: Any, passport: tuple[str, str]
) -> None:
    """What a client sees when PostgreSQL goes away during its request: DATABASE_UNAVAILABLE, which says
    retry (the next request gets a new connection), with a correlation id and no traceback or driver text."""
    endpoint, url = passport
    assert "errors" not in _public_read(endpoint)
    answer: dict[str, Any] = {}
    request = threading.Thread(target=lambda: answer.update(_public_read(endpoint)))

    async def lock_and_kill(connection: Any) -> int:
        async with connection.transaction():
            await connection.execute("LOCK TABLE passport_passports, passport_versions IN ACCESS EXCLUSIVE MODE")
            request.start()
            for _ in range(200):  # the request's statement waits for the lock; then its backend is killed
                killed = await asyncio.to_thread(_kill_backends, postgres_server.port, url, waiting_on_a_lock=True)
                if killed:
                    return killed
                await asyncio.sleep(0.05)
            return 0

    assert run_as_superuser(postgres_server.port, make_url(url).database or "", lock_and_kill) == 1
    request.join(30)
    assert answer["data"] == {"publicPassport": None}, answer
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE", error
    assert set(error["extensions"]) == {"code", "correlationId"}, error
    assert error["message"].startswith("The database connection was lost; retry the request"), error
    assert "terminating" not in error["message"] and "Traceback" not in str(answer), error
    assert _public_read(endpoint)["data"]["publicPassport"]  # the pool was invalidated; the next request reconnects
