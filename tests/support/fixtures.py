"""Shared pytest fixtures for tests that run subgraphs behind the real identity issuer.

Import them into a ``conftest.py`` (``from tests.support.fixtures import identity_issuers, issuer``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.identity import IdentityIssuer, IdentityIssuers


@pytest.fixture(scope="session")
def identity_issuers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityIssuers]:
    """One seeded identity issuer per backend for the session (started on first use)."""
    issuers = IdentityIssuers(tmp_path_factory.mktemp("identity-issuers"))
    try:
        yield issuers
    finally:
        issuers.stop()


@pytest.fixture
def issuer(request: pytest.FixtureRequest, identity_issuers: IdentityIssuers, tmp_path_factory) -> IdentityIssuer:
    """The identity issuer of the test's backend (SQLite when the test is not parametrised by backend)."""
    backend = request.getfixturevalue("backend") if "backend" in request.fixturenames else "sqlite"

    def database_url() -> str:
        if backend == "postgres":
            return request.getfixturevalue("postgres_server").create_database("identity_issuer")
        return f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('identity-db') / 'identity.db').as_posix()}"

    return identity_issuers.get(backend, database_url)
