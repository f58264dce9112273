"""Session-wide fixtures: a real PostgreSQL server and per-test databases on either backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer
from tests.support.redis import MISSING_REASON, RedisServer, redis_binary


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the whole run, started on first use."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis server for the whole run, started on first use (skips when redis-server is missing)."""
    if redis_binary() is None:
        pytest.skip(MISSING_REASON)
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both database backends."""
    return str(request.param)


@pytest.fixture
def database_url_factory(backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    """``factory(name)`` gives a fresh, empty database URL on the current backend."""

    def factory(name: str = "dpp") -> str:
        if backend == "postgres":
            server: PostgresServer = request.getfixturevalue("postgres_server")
            return server.create_database(name)
        return f"sqlite+aiosqlite:///{(tmp_path / f'{name}.db').as_posix()}"

    return factory
