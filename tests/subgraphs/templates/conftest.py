"""Fixtures of the templates subgraph tests: a real, migrated and seeded server per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.client import gql, sql_statements
from tests.support.identity import IdentityIssuer
from tests.support.subgraphs import running_subgraph


@dataclass(frozen=True)
class TemplatesServer:
    """A running templates subgraph and its database."""

    base: str
    database_url: str
    issuer: IdentityIssuer

    @property
    def url(self) -> str:
        """The GraphQL endpoint."""
        return self.base + "/graphql"

    def query(self, query: str, variables: dict[str, Any] | None = None, *, as_user: str | None = None) -> dict:
        """Run ``query`` as demo user ``as_user`` (anonymous when ``None``)."""
        token = self.issuer.token_for(as_user) if as_user else None
        return gql(self.url, query, variables, token=token)

    def data(self, query: str, variables: dict[str, Any] | None = None, *, as_user: str | None = None) -> dict:
        """``query``'s data, failing the test on any error."""
        body = self.query(query, variables, as_user=as_user)
        assert "errors" not in body, body
        return body["data"]

    def statements(self) -> int:
        """``dpp_sql_statements_total`` of this server so far."""
        return sql_statements(self.base, "templates")


@pytest.fixture
def templates(database_url_factory, issuer: IdentityIssuer) -> Iterator[TemplatesServer]:
    """The templates subgraph, seeded, on the current backend, trusting the session's identity issuer."""
    database_url = database_url_factory("templates")
    with running_subgraph("templates", database_url, **issuer.overrides()) as server:
        yield TemplatesServer(server.url, database_url, issuer)


def error_of(body: dict) -> tuple[str, str, dict]:
    """``(code, message, extensions)`` of the only error of a response."""
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    extensions = errors[0].get("extensions") or {}
    return extensions.get("code", ""), errors[0]["message"], extensions
