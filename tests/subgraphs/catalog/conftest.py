"""Fixtures of the catalog tests: a seeded catalog server on each backend, and tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from subgraphs.common import demo
from subgraphs.common.ids import stable_id
from tests.support.client import gql, sql_statements
from tests.support.identity import IdentityIssuer
from tests.support.subgraphs import running_subgraph


@dataclass(frozen=True)
class Catalog:
    """A running catalog subgraph and shortcuts to call it."""

    base_url: str
    issuer: IdentityIssuer

    @property
    def url(self) -> str:
        """The GraphQL endpoint."""
        return self.base_url + "/graphql"

    def query(self, query: str, variables: dict[str, Any] | None = None, *, user: str | None = None) -> dict[str, Any]:
        """Run ``query`` as demo user ``user`` (anonymous when ``None``)."""
        token = self.issuer.token_for(user) if user else None
        return gql(self.url, query, variables, token=token)

    def ok(self, query: str, variables: dict[str, Any] | None = None, *, user: str | None = None) -> dict[str, Any]:
        """Run ``query`` and return its data, failing on any error."""
        body = self.query(query, variables, user=user)
        assert "errors" not in body, body.get("errors")
        return body["data"]

    def statements(self) -> int:
        """The catalog's SQL statement counter, read from /metrics."""
        return sql_statements(self.base_url, "catalog")


@pytest.fixture
def catalog(database_url_factory, issuer: IdentityIssuer) -> Iterator[Catalog]:
    """A migrated, seeded catalog server on the current backend, trusting the session's identity issuer."""
    with running_subgraph("catalog", database_url_factory("catalog"), **issuer.overrides()) as server:
        yield Catalog(server.url, issuer)


def category_id(key: str) -> str:
    """The id of demo category ``key``."""
    return stable_id("category", key)


def product_id(tenant_key: str, index: int) -> str:
    """The id of demo product ``index`` of ``tenant_key``."""
    return stable_id("product", tenant_key, str(index))


def demo_product(tenant_key: str, index: int) -> demo.DemoProduct:
    """The demo product ``index`` of ``tenant_key``."""
    return next(p for p in demo.PRODUCTS if p.tenant_key == tenant_key and p.index == index)


def error_of(body: dict[str, Any]) -> tuple[str, str]:
    """``(code, message)`` of the only error in ``body``."""
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    return errors[0]["extensions"]["code"], errors[0]["message"]
