"""Fixtures of the identity tests: a seeded identity subgraph on either backend, and helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from subgraphs.common.db import Database
from subgraphs.common.ids import stable_id
from tests.support.client import gql, sql_statements, token_for
from tests.support.subgraphs import running_subgraph


@dataclass
class Identity:
    """A running, seeded identity subgraph."""

    base_url: str
    database_url: str

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
            token = token_for(as_user, tenant)
        return gql(self.url, query, variables, token=token)

    def statements(self) -> int:
        """SQL statements the server has executed so far (from /metrics)."""
        return sql_statements(self.base_url, "identity")

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        """Rows of a raw SQL query against the subgraph's database (to check what was written)."""

        async def run() -> list[tuple[Any, ...]]:
            database = Database(self.database_url)
            try:
                async with database.engine.connect() as connection:
                    rows = (await connection.execute(sa.text(statement))).all()
                    return [tuple(_decode(value) for value in row) for row in rows]
            finally:
                await database.dispose()

        return asyncio.run(run())


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


@pytest.fixture
def identity(database_url_factory) -> Iterator[Identity]:
    """A fresh, seeded identity subgraph for one test (on the current backend)."""
    url = database_url_factory("identity")
    with running_subgraph("identity", url) as server:
        yield Identity(server.url, url)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_identity(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identity]:
    """One seeded identity subgraph per backend for a module of read-only tests."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_server").create_database("identity_ro")
    else:
        url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('identity')) / 'identity.db'}"
    with running_subgraph("identity", url) as server:
        yield Identity(server.url, url)
