"""The real stack for the isolation suite: ``dpp-stack`` (four seeded subgraphs and the gateway) on
loopback over SQLite files or PostgreSQL databases, plus a system-level look into those databases.

The look into the databases is what "no leak" is measured against: row counts per tenant (what a
tenant's ``totalCount`` must equal) and a snapshot of every row that belongs to tenant B (what no
mutation of tenant A may change). On PostgreSQL it connects as the superuser, past row-level security
on purpose; the stack itself connects as the application role, which RLS applies to.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from subgraphs.common import demo
from subgraphs.common.settings import SERVICE_NAMES
from tests.support.postgres import PostgresServer
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGIN = """mutation($e: String!, $p: String!, $t: ID) {
  login(email: $e, password: $p, tenantId: $t) { accessToken refreshToken tenant { id } }
}"""
# Sign-in bookkeeping that any login changes (not tenant data).
UNSNAPSHOTTED = frozenset({"identity_refresh_tokens", "identity_login_failures", "alembic_version"})


@dataclass
class Databases:
    """System-level access to the stack's four databases (SQLite paths or PostgreSQL superuser DSNs)."""

    backend: str
    locations: dict[str, str]  # service -> sqlite path | postgres dsn
    _columns: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    _connections: dict[str, asyncpg.Connection] = field(default_factory=dict)
    _event_loop: asyncio.AbstractEventLoop | None = None

    def query(self, service: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``?`` placeholders, turned into ``$n`` on PostgreSQL) in ``service``'s database."""
        if self.backend == "sqlite":
            connection = sqlite3.connect(f"file:{self.locations[service]}?mode=ro", uri=True, timeout=10)
            try:
                return [tuple(row) for row in connection.execute(sql, tuple(params)).fetchall()]
            finally:
                connection.close()
        numbered = sql
        for n in range(1, len(params) + 1):
            numbered = numbered.replace("?", f"${n}", 1)
        return self._loop().run_until_complete(self._fetch(service, numbered, params))

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self._event_loop is None:
            self._event_loop = asyncio.new_event_loop()
        return self._event_loop

    async def _fetch(self, service: str, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        # One connection per database for the whole run (connecting costs more than the queries).
        if service not in self._connections:
            self._connections[service] = await asyncpg.connect(self.locations[service])
        return [tuple(r) for r in await self._connections[service].fetch(sql, *params)]

    def close(self) -> None:
        """Close the PostgreSQL connections and their event loop."""
        if self._event_loop is not None:
            for connection in self._connections.values():
                self._event_loop.run_until_complete(connection.close())
            self._connections.clear()
            self._event_loop.close()
            self._event_loop = None

    def columns(self, service: str) -> dict[str, tuple[str, ...]]:
        """Tables of ``service`` and their columns."""
        if service not in self._columns:
            if self.backend == "sqlite":
                tables = [r[0] for r in self.query(service, "SELECT name FROM sqlite_master WHERE type = 'table'")]
                self._columns[service] = {
                    t: tuple(r[1] for r in self.query(service, f'PRAGMA table_info("{t}")')) for t in tables
                }
            else:
                rows = self.query(
                    service,
                    "SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
                )
                found: dict[str, list[str]] = {}
                for table, column in rows:
                    found.setdefault(table, []).append(column)
                self._columns[service] = {t: tuple(c) for t, c in found.items()}
        return self._columns[service]

    def count(
        self, service: str, table: str, tenant_id: str | None, where: str = "", params: Sequence[Any] = ()
    ) -> int:
        """Rows of ``table`` owned by ``tenant_id`` (and matching ``where``), counted past every filter."""
        sql = f'SELECT count(*) FROM "{table}" WHERE tenant_id = ?' + (f" AND {where}" if where else "")
        return int(self.query(service, sql, (tenant_id, *params))[0][0])

    def snapshot(self, tenant_id: str, user_ids: frozenset[str]) -> dict[str, list[str]]:
        """Every row that is tenant ``tenant_id``'s, as sorted JSON lines per table.

        Tables with a ``tenant_id`` column: that tenant's rows (audit logs included: another tenant's
        attempts must not land there). ``identity_tenants``: the tenant's row. Tables keyed by a user
        (``identity_users`` by id, sessions and invitations by ``user_id``): the rows of ``user_ids``.
        Platform-wide tables (categories, templates, fields): whole.
        """
        snap: dict[str, list[str]] = {}
        for service in SERVICE_NAMES:
            for table, columns in self.columns(service).items():
                if table in UNSNAPSHOTTED or table.startswith(("sqlite_", "alembic")):
                    continue
                if "tenant_id" in columns:
                    rows = self.query(service, f'SELECT * FROM "{table}" WHERE tenant_id = ?', (tenant_id,))
                elif table == "identity_tenants":
                    rows = self.query(service, f'SELECT * FROM "{table}" WHERE id = ?', (tenant_id,))
                elif table == "identity_users" or "user_id" in columns:
                    key = "id" if table == "identity_users" else "user_id"
                    rows = [
                        r for r in self.query(service, f'SELECT * FROM "{table}"') if r[columns.index(key)] in user_ids
                    ]
                else:
                    rows = self.query(service, f'SELECT * FROM "{table}"')
                snap[f"{service}.{table}"] = sorted(json.dumps(list(r), default=str, sort_keys=True) for r in rows)
        return snap


@dataclass
class Stack:
    """The running stack: the gateway's and each subgraph's GraphQL URL, and its databases."""

    backend: str
    gateway: str
    subgraphs: dict[str, str]
    databases: Databases
    _tokens: dict[tuple[str, str | None], dict[str, Any]] = field(default_factory=dict)

    def url(self, target: str) -> str:
        """``gateway`` or a subgraph name -> its GraphQL endpoint."""
        return self.gateway if target == "gateway" else self.subgraphs[target]

    def gql(self, target: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict:
        """POST one operation to ``target``; the decoded body (whatever the status)."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            self.url(target), json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
        )
        return dict(response.json())

    def post(self, target: str, query: str, token: str, headers: dict[str, str]) -> httpx.Response:
        """POST ``query`` to ``target`` with ``token`` and extra ``headers``; the raw response."""
        all_headers = {"authorization": f"Bearer {token}", **headers}
        return httpx.post(self.url(target), json={"query": query}, headers=all_headers, timeout=30)

    def login(self, user_key: str, tenant_key: str | None = None) -> dict[str, Any]:
        """A fresh sign-in of demo user ``user_key`` (its ``login`` payload)."""
        user = next(u for u in demo.USERS if u.key == user_key)
        tenant = demo.tenant(tenant_key).id if tenant_key else None
        body = self.gql("gateway", LOGIN, {"e": user.email, "p": user.password, "t": tenant})
        assert "errors" not in body, body
        return dict(body["data"]["login"])

    def token(self, user_key: str, tenant_key: str | None = None) -> str:
        """A cached access token of ``user_key`` in ``tenant_key`` (signed in on first use; tokens live 900 s)."""
        key = (user_key, tenant_key)
        if key not in self._tokens:
            self._tokens[key] = self.login(user_key, tenant_key)
        return str(self._tokens[key]["accessToken"])

    def forget_tokens(self, user_key: str) -> None:
        """Drop ``user_key``'s cached token (after a test revoked its sessions)."""
        self._tokens.pop((user_key, None), None)


@contextmanager
def running_stack(backend: str, data_dir: Path, postgres: PostgresServer | None) -> Iterator[Stack]:
    """``dpp-stack`` with the demo seed on ``backend``; stopped (SIGKILL after SIGINT) on exit."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({"DATA_DIR": str(data_dir), "LOG_LEVEL": "warning", "DPP_ENV": "development", "SEED": "1"})
    env["ACCESS_TOKEN_TTL"] = "900"
    locations: dict[str, str] = {}
    for name in SERVICE_NAMES:
        port = free_port()
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"GATEWAY_SUBGRAPH_{name.upper()}_URL"] = f"http://127.0.0.1:{port}/graphql"
        if postgres is not None:
            url = postgres.create_database(f"iso_{name}")
            env[f"{name.upper()}_DATABASE_URL"] = url
            locations[name] = postgres.superuser_url(url).replace("postgresql+asyncpg://", "postgresql://")
        else:
            locations[name] = str(data_dir / f"{name}.db")
    env["ISSUER_URL"] = f"http://127.0.0.1:{env['IDENTITY_PORT']}"
    env["GATEWAY_PORT"] = str(free_port())
    env["GATEWAY_SUPERGRAPH"] = str(ROOT / "schema" / "supergraph.graphql")
    log = (data_dir / "stack.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "from subgraphs.cli import stack_main; raise SystemExit(stack_main())"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(gateway + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"stack did not come up:\n{(data_dir / 'stack.log').read_text()[-3000:]}")
            time.sleep(0.2)
        subgraphs = {n: f"http://127.0.0.1:{env[f'{n.upper()}_PORT']}/graphql" for n in SERVICE_NAMES}
        databases = Databases(backend, locations)
        try:
            yield Stack(backend, gateway + "/graphql", subgraphs, databases)
        finally:
            databases.close()
    finally:
        if process.poll() is None:
            process.send_signal(2)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
