"""Fixtures of the subgraph subscription tests: module-scoped servers behind the session's identity issuer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.client import gql
from tests.support.fixtures import identity_issuers, issuer
from tests.support.identity import IdentityIssuer, IdentityIssuers
from tests.support.subgraphs import running_subgraph

__all__ = ["identity_issuers", "issuer", "module_issuer", "passport_server"]


@pytest.fixture(scope="module")
def module_issuer(identity_issuers: IdentityIssuers, tmp_path_factory: pytest.TempPathFactory) -> IdentityIssuer:
    """The session's SQLite identity issuer, for module-scoped servers."""

    def database_url() -> str:
        return f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('identity-db') / 'identity.db').as_posix()}"

    return identity_issuers.get("sqlite", database_url)


@pytest.fixture(scope="module")
def passport_server(module_issuer: IdentityIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded passport subgraph on SQLite with the in-process bus (its peers are not running); its base URL."""
    url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('passport') / 'passport.db').as_posix()}"
    with running_subgraph(
        "passport", url, subscription_auth_recheck=0.3, auth_context_ttl=0.2, **module_issuer.overrides()
    ) as server:
        yield server.url


def data(base: str, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict:
    """``query``'s data on ``base``'s subgraph, failing the test on any error."""
    body = gql(base + "/graphql", query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]
