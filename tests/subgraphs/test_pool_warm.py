"""A served subgraph opens its PostgreSQL pool when it starts, not during the first burst of requests.

Before, the pool opened a connection the first time that many requests needed one at once: on the QR
path's open-loop burst (``make bench-dpp``, 80% of the peak on PostgreSQL) the passport subgraph opened
twelve connections within 115 ms while the requests that needed them waited.
:meth:`subgraphs.common.db.Database.warm` opens them at startup; a database that is down then does not
stop the service.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from subgraphs.common.db import POOL_SIZE, Database
from tests.support.postgres import run_as_superuser
from tests.support.subgraphs import running_subgraph

pytestmark = pytest.mark.postgres


def _backends(postgres_server: Any, url: str) -> int:
    database = make_url(url).database

    async def count(connection: Any) -> int:
        return int(await connection.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database))

    return run_as_superuser(postgres_server.port, "postgres", count)


def test_a_started_subgraph_holds_its_pool_open_before_any_request(postgres_server: Any) -> None:
    url = postgres_server.create_database("pool_warm")
    with running_subgraph("catalog", url) as server:
        assert _backends(postgres_server, url) == POOL_SIZE
        answer = httpx.post(server.url + "/graphql", json={"query": "{ __typename }"}, timeout=10).json()
        assert answer == {"data": {"__typename": "Query"}}
    assert _backends(postgres_server, url) == 0


def test_a_database_down_at_startup_is_not_fatal(postgres_server: Any) -> None:
    closed_port = make_url(postgres_server.create_database("pool_down")).set(port=1)
    database = Database(closed_port.render_as_string(hide_password=False))

    async def warm() -> int:
        try:
            return await database.warm()
        finally:
            await database.dispose()

    assert asyncio.run(warm()) == 0
