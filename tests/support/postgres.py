"""A throwaway PostgreSQL server: initdb into a temporary directory, pg_ctl start on loopback.

The subgraphs connect as :data:`APP_ROLE`, a login role that is neither a superuser
nor ``BYPASSRLS`` and owns the databases it is handed (so the migrations, run as
the same role, own the tables; ``FORCE ROW LEVEL SECURITY`` subjects the owner to
the policies). Superusers always bypass row-level security, so connecting as
``postgres`` would make every RLS test pass vacuously; :meth:`PostgresServer.superuser_url`
is there only for tests that must look past the policies on purpose.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from tests.support.servers import free_port

T = TypeVar("T")

APP_ROLE = "dpp_app"


def _pg_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the postgresql package (make test does)")
    return found


class PostgresServer:
    """One PostgreSQL cluster for the test session; :meth:`create_database` hands out fresh databases."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="dpp-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self._counter = 0
        # PostgreSQL refuses to run as root; run it as the postgres user then.
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    def start(self) -> PostgresServer:
        """initdb and start; returns when the server accepts connections."""
        self.sockets.mkdir(parents=True)
        if self._user:
            entry = pwd.getpwnam(self._user)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        self._psql(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        return self

    def _psql(self, sql: str) -> None:
        psql = _pg_bin("psql")
        subprocess.run(
            [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        )

    def create_database(self, prefix: str = "dpp") -> str:
        """A new empty database owned by the application role; its async SQLAlchemy URL (as that role)."""
        self._counter += 1
        name = f"{prefix}_{self._counter}"
        run_as_superuser(self.port, "postgres", lambda c: c.execute(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}'))
        return f"postgresql+asyncpg://{APP_ROLE}@127.0.0.1:{self.port}/{name}"

    def superuser_url(self, url: str) -> str:
        """The same database as ``url``, as the superuser (bypasses row-level security)."""
        return url.replace(f"//{APP_ROLE}@", "//postgres@", 1)

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def run_as_superuser(port: int, database: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(connection)`` on an asyncpg connection as ``postgres`` to ``database`` on loopback ``port``.

    Runs on a thread of its own (with its own event loop), so that it works from async tests too;
    in-process because a ``psql`` per statement costs a process start.
    """

    async def main() -> T:
        connection = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database=database)
        try:
            return await work(connection)
        finally:
            await connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def rls_statements(backend: str, *, transactions: int = 1) -> int:
    """Statements row-level security adds to a request on ``backend`` (``sqlite`` or ``postgres``).

    On PostgreSQL each transaction of a scoped session starts with one statement that
    sets the tenant for row-level security: see :mod:`subgraphs.common.tenancy` (the
    public-read pool's connections carry theirs from the start and add nothing).
    SQLite has no row-level security and adds nothing.
    """
    if backend != "postgres":
        return 0
    return transactions
