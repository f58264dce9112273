"""PostgreSQL sorts a listing's ids, not its rows' JSON turned into text.

A page of passports is read with its values and template snapshot cast to text (decoded once per
distinct snapshot in Python). PostgreSQL computes a select list before it sorts, so with those casts
beside ``ORDER BY name LIMIT 50`` it turned every filtered passport's JSON into text to keep 50: on
make bench-dpp's dashboard without sharing (5,000 passports per tenant) 75-120 ms per listing
statement. :func:`subgraphs.passport.repository.page_statement` sorts and limits the page's ids alone;
the check is PostgreSQL's own plan: no Sort under the page's Limit outputs a cast to text (the
page's 50 rows may be sorted again with them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from subgraphs.passport.repository import PassportFilter, page_statement
from tests.support.postgres import run_as_superuser
from tests.support.subgraphs import prepared_database

pytestmark = pytest.mark.postgres


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _plan(postgres_server: Any, url: str, statement: sa.Select[Any]) -> dict[str, Any]:
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    async def explain(connection: Any) -> str:
        return str(await connection.fetchval(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}"))

    return dict(json.loads(run_as_superuser(postgres_server.port, str(make_url(url).database), explain))[0]["Plan"])


@pytest.mark.parametrize("flt", [PassportFilter(), PassportFilter(status="PUBLISHED")], ids=["all", "published"])
def test_the_sort_carries_no_json_text(postgres_server: Any, flt: PassportFilter) -> None:
    url = postgres_server.create_database("listing_plan")
    prepared_database("passport", url)
    plan = _plan(postgres_server, url, page_statement(flt, offset=0, limit=50))
    limits = [node for node in _nodes(plan) if node["Node Type"] == "Limit"]
    sorts = [node for limit in limits for node in _nodes(limit) if node["Node Type"] in ("Sort", "Incremental Sort")]
    assert sorts, "the page is sorted (by name, id), then limited"
    for node in sorts:  # what is sorted to pick the page: every filtered passport
        assert not [out for out in node["Output"] if "::text" in out], node["Output"]
    casts = [out for node in _nodes(plan) for out in node.get("Output", ()) if "::text" in out]
    assert casts, "the page's rows are still read as text (values, snapshot)"
