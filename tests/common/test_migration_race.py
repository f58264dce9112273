"""Replicas starting together on an empty PostgreSQL database all migrate it without failing.

Each replica is its own process (``python -m subgraphs.migrate``), as in a Deployment: Alembic's
migration context is process-global, so threads would not model replicas.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.postgres import PostgresServer


@pytest.mark.postgres
# identity's run covers the advisory lock every subgraph's migrate takes (subgraphs/common/migrations.py);
# catalog's (~7 s of four processes) runs in make test-all only, to keep make test inside CI's 15 minutes.
@pytest.mark.parametrize("name", [pytest.param("catalog", marks=pytest.mark.slow), "identity"])
def test_concurrent_first_starts_all_succeed(postgres_server: PostgresServer, name: str) -> None:
    url = postgres_server.create_database(f"race_{name}")
    env = {**os.environ, f"{name.upper()}_DATABASE_URL": url}
    replicas = [
        subprocess.Popen(
            [sys.executable, "-m", "subgraphs.migrate", name, "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = []
    for replica in replicas:
        output, _ = replica.communicate(timeout=120)
        outcomes.append("ok" if replica.returncode == 0 else output[-400:])
    assert outcomes == ["ok"] * 4
