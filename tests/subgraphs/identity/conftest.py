"""Fixtures of the identity tests: a seeded identity subgraph on either backend, and helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from subgraphs.common import demo
from subgraphs.common.app import create_app
from subgraphs.common.db import Database
from subgraphs.common.ids import stable_id
from subgraphs.common.rls import UNRESTRICTED_SQL
from subgraphs.registry import load_definition
from tests.support.client import gql, sql_statements
from tests.support.servers import ServerThread, free_socket
from tests.support.subgraphs import prepared_database, subgraph_settings

LOGIN = """mutation($email: String!, $password: String!, $tenantId: ID) {
  login(email: $email, password: $password, tenantId: $tenantId) { accessToken refreshToken }
}"""


@dataclass
class Identity:
    """A running, seeded identity subgraph."""

    base_url: str
    database_url: str
    data_dir: Path | None = None
    # Access tokens of demo users by (user, tenant), from real sign-ins (each a session of its own).
    _tokens: dict[tuple[str, str | None], str] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        """The GraphQL endpoint."""
        return self.base_url + "/graphql"

    def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_user: str | None = None,
        tenant: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Run one operation with ``token``, or as demo user ``as_user`` in demo tenant ``tenant``; the JSON body."""
        if token is None and as_user is not None:
            token = self.token_for(as_user, tenant)
        return gql(self.url, query, variables, token=token)

    def login(self, user_key: str, tenant_key: str | None = None) -> dict[str, Any]:
        """Sign demo user ``user_key`` in (into demo tenant ``tenant_key``); the ``login`` payload."""
        user = next(u for u in demo.USERS if u.key == user_key)
        variables = {"email": user.email, "password": user.password, "tenantId": None}
        if tenant_key is not None:
            variables["tenantId"] = demo.tenant(tenant_key).id
        body = gql(self.url, LOGIN, variables)
        assert "errors" not in body, body
        return body["data"]["login"]

    def token_for(self, user_key: str, tenant_key: str | None = None) -> str:
        """An access token of demo user ``user_key`` in ``tenant_key`` (default: first membership), from a login."""
        key = (user_key, tenant_key)
        if key not in self._tokens:
            self._tokens[key] = self.login(user_key, tenant_key)["accessToken"]
        return self._tokens[key]

    def context(self, token: str, tenant: str | None = None, policies: str | None = None) -> tuple[int, Any]:
        """(status, JSON body) of ``GET /auth/context`` for ``token``."""
        headers = {"authorization": f"Bearer {token}"}
        if tenant is not None:
            headers["x-tenant-id"] = tenant
        params = {"policies": policies} if policies is not None else None
        response = httpx.get(self.base_url + "/auth/context", headers=headers, params=params, timeout=30)
        return response.status_code, response.json()

    def statements(self) -> int:
        """SQL statements the server has executed so far (from /metrics)."""
        return sql_statements(self.base_url, "identity")

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        """Rows of a raw SQL query against the subgraph's database (to check what was written)."""

        async def run() -> list[tuple[Any, ...]]:
            database = Database(self.database_url)
            try:
                async with database.engine.connect() as connection:
                    if connection.dialect.name == "postgresql":
                        # Look past row-level security: this checks what was written, in every tenant.
                        await connection.execute(UNRESTRICTED_SQL)
                    rows = (await connection.execute(sa.text(statement))).all()
                    return [tuple(_decode(value) for value in row) for row in rows]
            finally:
                await database.dispose()

        return asyncio.run(run())

    def execute(self, statement: str) -> None:
        """Run and commit one raw SQL write (for states no operation produces, e.g. a user made inactive)."""

        async def run() -> None:
            database = Database(self.database_url)
            try:
                async with database.engine.begin() as connection:
                    if database.dialect == "postgresql":  # row-level security: act as a system task
                        await connection.execute(sa.text("SELECT set_config('app.unrestricted', 'on', true)"))
                    await connection.execute(sa.text(statement))
            finally:
                await database.dispose()

        asyncio.run(run())


def _decode(value: Any) -> Any:
    # JSON columns come back as text from SQLite and decoded from PostgreSQL: compare them decoded.
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def tenant_id(key: str) -> str:
    """The id of a demo tenant."""
    return stable_id("tenant", key)


def user_id(key: str) -> str:
    """The id of a demo user."""
    return stable_id("user", key)


def data(body: dict[str, Any]) -> dict[str, Any]:
    """The data of a response that must have no errors."""
    assert "errors" not in body, body["errors"]
    return body["data"]


def error(body: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of the single error of a response."""
    assert len(body.get("errors") or []) == 1, body
    return body["errors"][0]["extensions"]["code"], body["errors"][0]["message"]


@contextmanager
def serving_identity(
    database_url: str, data_dir: Path, *, proxy_headers: bool = True, **overrides: object
) -> Iterator[Identity]:
    """Migrate, seed and serve identity as its own issuer (``ISSUER_URL`` = its address, keys in ``data_dir``).

    ``proxy_headers=False`` turns uvicorn's own ``X-Forwarded-For`` handling off, so that the app sees the
    real peer and identity's ``TRUSTED_PROXIES`` alone decides.
    """
    prepared_database("identity", database_url)
    sock = free_socket()
    port = int(sock.getsockname()[1])
    settings = subgraph_settings(
        "identity",
        database_url,
        port=port,
        issuer_url=f"http://127.0.0.1:{port}",
        data_dir=data_dir,
        **overrides,
    )
    app = create_app(load_definition("identity"), settings)
    uvicorn_server = None
    if not proxy_headers:
        uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False))
    server = ServerThread(app, uvicorn_server, sock=sock).start()
    try:
        yield Identity(server.url, database_url, data_dir)
    finally:
        server.stop()


@pytest.fixture
def identity(database_url_factory, tmp_path: Path) -> Iterator[Identity]:
    """A fresh, seeded identity subgraph for one test (on the current backend)."""
    with serving_identity(database_url_factory("identity"), tmp_path / "data") as served:
        yield served


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_identity(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    """One seeded identity subgraph per backend for a module of read-only tests."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_server").create_database("identity_ro")
    else:
        url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('identity')) / 'identity.db'}"
    with serving_identity(url, Path(tmp_path_factory.mktemp("identity-data"))) as served:
        yield served
