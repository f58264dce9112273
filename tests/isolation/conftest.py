"""One seeded stack per backend for the whole isolation suite (PostgreSQL half marked ``postgres``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.isolation.stack import Stack, running_stack


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The suite's backend; session-scoped here so one stack serves every case of a backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def stack(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``dpp-stack`` on ``backend`` with the demo data."""
    postgres = request.getfixturevalue("postgres_server") if backend == "postgres" else None
    with running_stack(backend, tmp_path_factory.mktemp(f"isolation-{backend}"), postgres) as running:
        yield running
