"""The shared subgraph layer over a real server, on SQLite and PostgreSQL:
tenant isolation, error shaping and masking, credentials, atomic audited mutations."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlmodel import SQLModel, select

from subgraphs.common.app import create_app
from subgraphs.common.db import Database
from subgraphs.common.settings import Settings
from tests.common import toy
from tests.support.client import gql, sql_statements
from tests.support.identity import IdentityIssuer
from tests.support.postgres import rls_statements
from tests.support.servers import ServerThread


def _create_tables(url: str) -> None:
    async def run() -> None:
        database = Database(url)
        tables = [toy.Widget.__table__, toy.ToyAudit.__table__]
        async with database.engine.begin() as conn:
            await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=tables))
        await database.dispose()

    asyncio.run(run())


@pytest.fixture
def token_for(issuer: IdentityIssuer) -> Callable[..., str]:
    """Access tokens of demo users, from real sign-ins at the session's identity issuer."""
    return issuer.token_for


@pytest.fixture
def toy_server(database_url_factory, issuer: IdentityIssuer) -> Iterator[tuple[str, str]]:
    url = database_url_factory("toy")
    _create_tables(url)
    settings = dataclasses.replace(Settings.from_env("testtoy"), database_url=url, **issuer.overrides())
    server = ServerThread(create_app(toy.DEFINITION, settings)).start()
    try:
        yield server.url, url
    finally:
        server.stop()


def _audit_rows(url: str) -> list[tuple[str, str, str | None]]:
    async def run() -> list[tuple[str, str, str | None]]:
        database = Database(url)
        async with database.system_session() as session:
            rows = (await session.exec(select(toy.ToyAudit).order_by(toy.ToyAudit.created_at))).all()
            result = [(r.action, r.result, r.tenant_id) for r in rows]
        await database.dispose()
        return result

    return asyncio.run(run())


def test_tenants_see_only_their_rows_and_anonymous_sees_none(
    toy_server: tuple[str, str], token_for: Callable[..., str]
) -> None:
    base, _ = toy_server
    acme, green = token_for("acme-admin"), token_for("greenloop-admin")
    assert gql(base + "/graphql", 'mutation { addWidget(name: "a") { name } }', token=acme) == {
        "data": {"addWidget": {"name": "a"}}
    }
    gql(base + "/graphql", 'mutation { addWidget(name: "a") { name } }', token=green)
    gql(base + "/graphql", 'mutation { addWidget(name: "g") { name } }', token=green)

    query = '{ widgets { name } widgetsNamed(name: "a") }'
    assert gql(base + "/graphql", query, token=acme)["data"] == {"widgets": [{"name": "a"}], "widgetsNamed": 1}
    assert gql(base + "/graphql", query, token=green)["data"] == {
        "widgets": [{"name": "a"}, {"name": "g"}],
        "widgetsNamed": 1,
    }
    assert gql(base + "/graphql", query)["data"] == {"widgets": [], "widgetsNamed": 0}


def test_entities_of_another_tenant_resolve_to_null(toy_server: tuple[str, str], token_for: Callable[..., str]) -> None:
    base, _ = toy_server
    acme, green = token_for("acme-admin"), token_for("greenloop-admin")
    created = gql(base + "/graphql", 'mutation { addWidget(name: "secret") { id } }', token=acme)
    widget_id = created["data"]["addWidget"]["id"]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on WidgetType { name } } }"
    reps = {"r": [{"__typename": "WidgetType", "id": widget_id}]}
    assert gql(base + "/graphql", query, reps, token=acme)["data"] == {"_entities": [{"name": "secret"}]}
    assert gql(base + "/graphql", query, reps, token=green)["data"] == {"_entities": [None]}


def test_failed_mutation_leaves_no_row_but_an_audit_entry(
    toy_server: tuple[str, str], token_for: Callable[..., str]
) -> None:
    base, url = toy_server
    acme = token_for("acme-admin")
    body = gql(base + "/graphql", 'mutation { addWidget(name: "x", failAfterWrite: true) { id } }', token=acme)
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    assert gql(base + "/graphql", "{ widgets { name } }", token=acme)["data"] == {"widgets": []}
    gql(base + "/graphql", 'mutation { addWidget(name: "y") { id } }', token=acme)
    audit = _audit_rows(url)
    assert [(action, result) for action, result, _ in audit] == [("addWidget", "NOT_FOUND"), ("addWidget", "OK")]
    assert {tenant for _, _, tenant in audit} == {token_tenant("acme")}


def token_tenant(key: str) -> str:
    from subgraphs.common import demo

    return demo.tenant(key).id


def test_unexpected_errors_are_masked_with_a_correlation_id(toy_server: tuple[str, str]) -> None:
    base, _ = toy_server
    body = gql(base + "/graphql", "{ boom }")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "hunter2" not in str(body) and "Traceback" not in str(body)
    assert error["message"] == f"Internal server error (correlation id {error['extensions']['correlationId']})"


def test_domain_and_validation_errors_carry_stable_codes(toy_server: tuple[str, str]) -> None:
    base, _ = toy_server
    assert gql(base + "/graphql", "{ missing }")["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    unknown = gql(base + "/graphql", "{ nope }")["errors"][0]
    assert unknown["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert unknown["message"] == "Cannot query field 'nope' on type 'Query'."
    syntax = gql(base + "/graphql", "{ widgets { ")["errors"][0]
    assert syntax["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_hostile_queries_are_refused(toy_server: tuple[str, str]) -> None:
    """Subgraph limits are the gateway's with room for what its planner adds (aliases x2, root fields as is)."""
    base, _ = toy_server
    aliases = "{ widgets { " + " ".join(f"a{i}: name" for i in range(250)) + " } }"
    body = gql(base + "/graphql", aliases)
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        ("Operation exceeds the maximum aliases (250 > 200).", "MAX_ALIASES_LIMIT")
    ]
    assert "data" not in body or body["data"] is None
    root_fields = "{ " + " ".join(f"a{i}: widgets {{ name }}" for i in range(60)) + " }"
    codes = {e["extensions"]["code"] for e in gql(base + "/graphql", root_fields)["errors"]}
    assert codes == {"MAX_ROOT_FIELDS_LIMIT"}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer not-a-jwt", "Invalid or expired token"),
        ("Basic dXNlcjpwYXNz", "Invalid or expired token"),
        ("Bearer", "Invalid or expired token"),
    ],
)
def test_invalid_credentials_get_401_with_a_graphql_error(
    toy_server: tuple[str, str], header: str, message: str
) -> None:
    base, _ = toy_server
    response = httpx.post(base + "/graphql", json={"query": "{ widgets { name } }"}, headers={"authorization": header})
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}


def test_metrics_count_sql_statements(
    toy_server: tuple[str, str], token_for: Callable[..., str], backend: str
) -> None:
    base, _ = toy_server

    before = sql_statements(base, "testtoy")
    gql(base + "/graphql", "{ widgets { name } }", token=token_for("acme-admin"))
    assert sql_statements(base, "testtoy") - before == 1 + rls_statements(backend)
