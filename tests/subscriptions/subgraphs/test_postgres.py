"""Passport subscriptions on PostgreSQL: each event is loaded in its own session under row-level security."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from subgraphs.common import demo
from tests.subscriptions.subgraphs.conftest import data
from tests.subscriptions.subgraphs.wsclient import connected
from tests.support.identity import IdentityIssuer
from tests.support.postgres import PostgresServer
from tests.support.subgraphs import running_subgraph

pytestmark = pytest.mark.postgres

PACK_03 = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_03")
EVENTS = """subscription { passportEvents { id version status
  versions { number } auditEntries { action result } fields { key } } }"""
VERSION = "query($id: ID!) { passport(id: $id) { version } }"
SET_VALUES = """mutation($id: ID!, $v: Int!, $values: [FieldValueInput!]!) {
  setPassportValues(id: $id, expectedVersion: $v, values: $values) { version } }"""


@pytest.fixture(scope="module")
def passport_on_postgres(module_issuer: IdentityIssuer, postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database("passport_subscriptions")
    with running_subgraph("passport", url, **module_issuer.overrides()) as server:
        yield server.url


def test_events_resolve_their_selection_in_the_subscribers_tenant_on_postgres(
    passport_on_postgres: str, module_issuer: IdentityIssuer
) -> None:
    manager = module_issuer.token_for("acme-manager")
    with (
        connected(passport_on_postgres, token=module_issuer.token_for("acme-viewer")) as acme,
        connected(passport_on_postgres, token=module_issuer.token_for("greenloop-admin")) as outsider,
    ):
        acme.subscribe(EVENTS)
        outsider.subscribe(EVENTS)
        for day in (1, 2):
            version = data(passport_on_postgres, VERSION, {"id": PACK_03.id}, token=manager)["passport"]["version"]
            values = [{"key": "manufacture_date", "value": f"2025-03-0{day}"}]
            data(passport_on_postgres, SET_VALUES, {"id": PACK_03.id, "v": version, "values": values}, token=manager)
            message = acme.receive()
            passport = message["payload"]["data"]["passportEvents"]
            assert (passport["id"], passport["version"]) == (PACK_03.id, version + 1), message
            assert passport["auditEntries"][0] == {"action": "setPassportValues", "result": "OK"}
            assert "manufacture_date" in [field["key"] for field in passport["fields"]]
        assert outsider.nothing_for(0.3)
