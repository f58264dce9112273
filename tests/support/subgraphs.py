"""Start real subgraph servers against a migrated (and optionally seeded) database."""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from subgraphs.cli import prepare
from subgraphs.common.app import create_app
from subgraphs.common.settings import Settings
from subgraphs.registry import load_definition
from tests.support.postgres import run_as_superuser
from tests.support.servers import ServerThread, free_socket


def prepare_database(name: str, database_url: str, *, seed: bool = True) -> None:
    """Migrate ``database_url`` for subgraph ``name`` and, if asked, seed the demo data (as ``dpp-stack`` does)."""
    prepare(name, subgraph_settings(name, database_url), seed=seed)


def subgraph_settings(name: str, database_url: str, **overrides: object) -> Settings:
    """Settings for subgraph ``name`` on ``database_url`` with ``overrides`` applied."""
    return dataclasses.replace(Settings.from_env(name), database_url=database_url, **overrides)  # type: ignore[arg-type]


class PreparedTemplates:
    """Copies of databases that :func:`prepare_database` already migrated and seeded.

    Migrating and seeding costs up to seconds per database (identity hashes every demo user's
    password with argon2), and most tests want a fresh, prepared database of their own. The first
    fresh database of a kind (subgraph, seed or not, the settings the seed reads, the SQLite files
    or the PostgreSQL server) is prepared for real into a template; every later one is a copy of
    it: SQLite's backup API, PostgreSQL's ``CREATE DATABASE ... TEMPLATE``. A database that is not
    fresh (a file that exists, a PostgreSQL database with tables) is prepared for real, as before.
    Tests of the migrations and the seed themselves call :func:`prepare_database`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._root: Path | None = None
        self._made: dict[tuple[str, ...], str] = {}

    def prepare(self, name: str, database_url: str, *, seed: bool) -> None:
        """Make ``database_url`` a migrated (and seeded if ``seed``) database of subgraph ``name``."""
        url = make_url(database_url)
        backend = url.get_backend_name()
        settings = dataclasses.replace(subgraph_settings(name, database_url), database_url="")
        with self._lock:
            if backend == "sqlite" and url.database and not Path(url.database).exists():
                key: tuple[str, ...] = ("sqlite", name, str(seed), repr(settings))
                self._copy_sqlite(self._template(key, name, seed, self._sqlite_url), url.database)
                return
            if backend == "postgresql" and _pg_is_empty(database_url):
                key = ("postgresql", f"{url.host}:{url.port}", name, str(seed), repr(settings))
                template = self._template(key, name, seed, lambda: _pg_create(database_url))
                _pg_clone(database_url, template)
                return
        prepare_database(name, database_url, seed=seed)

    def _template(self, key: tuple[str, ...], name: str, seed: bool, new_url: Callable[[], str]) -> str:
        if key not in self._made:
            template = new_url()
            prepare_database(name, template, seed=seed)
            self._made[key] = template
        return self._made[key]

    def _sqlite_url(self) -> str:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="dpp-templates-"))
        return f"sqlite+aiosqlite:///{(self._root / f'template-{len(self._made)}.db').as_posix()}"

    @staticmethod
    def _copy_sqlite(template_url: str, target: str) -> None:
        source = sqlite3.connect(make_url(template_url).database or "")
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()

    def cleanup(self) -> None:
        """Remove the SQLite templates (PostgreSQL's go with the test server)."""
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


async def _count_relations(connection: Any) -> int:
    return int(
        await connection.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
        )
    )


def _pg_is_empty(database_url: str) -> bool:
    url = make_url(database_url)
    return run_as_superuser(int(url.port or 5432), url.database or "", _count_relations) == 0


def _pg_create(database_url: str) -> str:
    """A new empty database beside ``database_url``'s, owned by the same role; its URL."""
    url = make_url(database_url)
    name = f"template_{url.database}"
    run_as_superuser(
        int(url.port or 5432), "postgres", lambda c: c.execute(f'CREATE DATABASE "{name}" OWNER "{url.username}"')
    )
    return url.set(database=name).render_as_string(hide_password=False)


def _pg_clone(database_url: str, template_url: str) -> None:
    """Replace the (empty) database of ``database_url`` by a copy of ``template_url``'s."""
    url = make_url(database_url)
    template = make_url(template_url).database

    async def clone(connection: Any) -> None:
        await connection.execute(f'DROP DATABASE "{url.database}"')
        await connection.execute(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}" OWNER "{url.username}"')

    run_as_superuser(int(url.port or 5432), "postgres", clone)


TEMPLATES = PreparedTemplates()
atexit.register(TEMPLATES.cleanup)


def prepared_database(name: str, database_url: str, *, seed: bool = True) -> None:
    """:func:`prepare_database`, from a template copy when ``database_url`` is fresh (:class:`PreparedTemplates`)."""
    TEMPLATES.prepare(name, database_url, seed=seed)


@contextmanager
def running_subgraph(name: str, database_url: str, *, seed: bool = True, **overrides: object) -> Iterator[ServerThread]:
    """Migrate, seed and serve subgraph ``name``; yields the server (``server.url + '/graphql'``)."""
    prepared_database(name, database_url, seed=seed)
    sock = free_socket()  # the app's settings need its port before it is built
    settings = subgraph_settings(name, database_url, port=int(sock.getsockname()[1]), **overrides)
    server = ServerThread(create_app(load_definition(name), settings), sock=sock).start()
    try:
        yield server
    finally:
        server.stop()
