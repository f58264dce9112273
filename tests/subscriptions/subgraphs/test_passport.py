"""Passport subscriptions over graphql-transport-ws, straight to the subgraph (in-process bus, SQLite)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from subgraphs.common import demo
from tests.subscriptions.subgraphs.conftest import data
from tests.subscriptions.subgraphs.wsclient import Closed, connected, ws_url
from tests.support.client import gql
from tests.support.identity import IdentityIssuer

BY_NAME = {p.name: p for p in demo.PASSPORTS}
PACK_01, PACK_03, PACK_06 = BY_NAME["ACME_CELL_PACK_01"], BY_NAME["ACME_CELL_PACK_03"], BY_NAME["ACME_CELL_PACK_06"]
TEE_02 = BY_NAME["GRL_ORGANIC_TEE_02"]

CHANGED = "subscription($id: ID!) { passportChanged(id: $id) { id name version status values { key value } } }"
EVENTS = "subscription($f: PassportEventFilter) { passportEvents(filter: $f) { id version status } }"
PUBLIC = "subscription($uuid: String!) { publicPassportChanged(uuid: $uuid) { uuid status version } }"
VERSION = "query($id: ID!) { passport(id: $id) { version } }"
SET_VALUES = """mutation($id: ID!, $v: Int!, $values: [FieldValueInput!]!) {
  setPassportValues(id: $id, expectedVersion: $v, values: $values) { version } }"""
ARCHIVE = "mutation($id: ID!) { archivePassport(id: $id) { status } }"


def touch(base: str, passport: demo.DemoPassport, token: str, *, stale: bool = False) -> dict[str, Any]:
    """Set a value of a DRAFT passport (at a stale version when ``stale``); the response body."""
    version = data(base, VERSION, {"id": passport.id}, token=token)["passport"]["version"]
    if passport.template_key == "supply-chain-dpp":
        values = [{"key": "country_of_origin", "value": ("PT", "IN")[version % 2]}]
    else:
        values = [{"key": "manufacture_date", "value": "2025-01-0" + str(version % 9 + 1)}]
    variables = {"id": passport.id, "v": version - 1 if stale else version, "values": values}
    return gql(base + "/graphql", SET_VALUES, variables, token=token)


def test_a_committed_mutation_reaches_the_subscriber_with_the_entity_and_the_event(
    passport_server: str, module_issuer: IdentityIssuer
) -> None:
    manager = module_issuer.token_for("acme-manager")
    viewer = module_issuer.token_for("acme-viewer")
    with connected(passport_server, token=viewer) as ws:
        op = ws.subscribe(CHANGED, {"id": PACK_03.id})
        assert ws.nothing_for(0.3)
        body = touch(passport_server, PACK_03, manager)
        assert "errors" not in body, body
        message = ws.receive()
        assert message["type"] == "next" and message["id"] == op, message
        payload = message["payload"]
        assert payload["data"]["passportChanged"]["id"] == PACK_03.id
        assert payload["data"]["passportChanged"]["version"] == body["data"]["setPassportValues"]["version"]
        event = payload["extensions"]["event"]
        assert (event["kind"], event["typename"], event["key"]) == ("updated", "Passport", PACK_03.id)
        second = touch(passport_server, PACK_03, manager)
        assert "errors" not in second, second
        later = ws.receive()["payload"]["extensions"]["event"]
        ms, seq = (int(part) for part in later["id"].split("-"))
        assert (ms, seq) > tuple(int(part) for part in event["id"].split("-")), "event ids increase"
        ws.complete(op)
        assert ws.nothing_for(0.2)


def test_a_rolled_back_mutation_publishes_nothing(passport_server: str, module_issuer: IdentityIssuer) -> None:
    manager = module_issuer.token_for("acme-manager")
    with connected(passport_server, token=manager) as ws:
        ws.subscribe(EVENTS)
        failed = touch(passport_server, PACK_06, manager, stale=True)
        assert failed["errors"][0]["extensions"]["code"] == "CONFLICT", failed
        assert ws.nothing_for(0.5)
        assert "errors" not in touch(passport_server, PACK_06, manager)
        assert ws.receive()["payload"]["data"]["passportEvents"]["id"] == PACK_06.id


def test_another_tenant_receives_nothing_and_cannot_watch_a_foreign_passport(
    passport_server: str, module_issuer: IdentityIssuer
) -> None:
    manager = module_issuer.token_for("acme-manager")
    outsider = module_issuer.token_for("greenloop-admin")
    with connected(passport_server, token=outsider) as ws:
        events = ws.subscribe(EVENTS)
        refused = ws.subscribe(CHANGED, {"id": PACK_03.id})
        message = ws.receive()
        assert (message["type"], message["id"]) == ("error", refused), message
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"
        assert "errors" not in touch(passport_server, PACK_03, manager)
        assert ws.nothing_for(0.5)
        # The outsider's own tenant still reaches it.
        assert "errors" not in touch(passport_server, TEE_02, outsider)
        message = ws.receive()
        assert message["id"] == events and message["payload"]["data"]["passportEvents"]["id"] == TEE_02.id


def test_anonymous_callers_get_public_data_only(passport_server: str, module_issuer: IdentityIssuer) -> None:
    with connected(passport_server) as ws:
        for query, variables in ((EVENTS, None), (CHANGED, {"id": PACK_01.id})):
            op = ws.subscribe(query, variables)
            message = ws.receive()
            assert (message["type"], message["id"]) == ("error", op), message
            assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        public = ws.subscribe(PUBLIC, {"uuid": PACK_01.public_uuid})
        admin = module_issuer.token_for("acme-admin")
        data(passport_server, ARCHIVE, {"id": PACK_01.id}, token=admin)
        message = ws.receive()
        assert message["id"] == public, message
        assert (
            message["payload"]["data"]["publicPassportChanged"]
            == {
                "uuid": PACK_01.public_uuid,
                "status": "ARCHIVED",
                "version": 1,
            }
            or message["payload"]["data"]["publicPassportChanged"]["status"] == "ARCHIVED"
        )
        assert message["payload"]["extensions"]["event"]["kind"] == "archived"


def test_a_refused_token_closes_the_connection_with_4403(passport_server: str) -> None:
    with pytest.raises(Closed) as closed, connected(passport_server, token="not-a-token"):
        pass
    assert closed.value.code == 4403


def test_legacy_subprotocol_is_refused_with_4406(passport_server: str) -> None:
    with connect(ws_url(passport_server), subprotocols=["graphql-ws"]) as connection:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


def test_upgrade_headers_authenticate_too(passport_server: str, module_issuer: IdentityIssuer) -> None:
    viewer = module_issuer.token_for("acme-viewer")
    manager = module_issuer.token_for("acme-manager")
    with connected(passport_server, headers={"authorization": f"Bearer {viewer}"}) as ws:
        ws.subscribe(EVENTS, {"f": {"status": "DRAFT"}})
        assert "errors" not in touch(passport_server, PACK_03, manager)
        assert ws.receive()["payload"]["data"]["passportEvents"]["status"] == "DRAFT"


def test_a_revoked_token_ends_the_subscription(passport_server: str, module_issuer: IdentityIssuer) -> None:
    token = module_issuer.login("acme-viewer")["accessToken"]
    with connected(passport_server, token=token) as ws:
        op = ws.subscribe(EVENTS)
        assert ws.nothing_for(0.3)
        logout = gql(module_issuer.url, "mutation { logout { revokedSessions } }", token=token)
        assert "errors" not in logout, logout
        message = ws.receive(timeout=10)
        assert (message["type"], message["id"]) == ("next", op), message
        assert message["payload"]["data"] is None
        assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert ws.receive() == {"id": op, "type": "complete"}


@pytest.mark.parametrize("accept", ["application/json", 'multipart/mixed;subscriptionSpec="1.0"', "text/event-stream"])
def test_a_subscription_over_http_is_refused_with_a_code(
    passport_server: str, module_issuer: IdentityIssuer, accept: str
) -> None:
    token = module_issuer.token_for("acme-viewer")
    response = httpx.post(
        passport_server + "/graphql",
        json={"query": "subscription Watch { passportEvents { id } }", "operationName": "Watch"},
        headers={"authorization": f"Bearer {token}", "accept": accept},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
    # A query that merely mentions the word runs as before.
    body = gql(passport_server + "/graphql", 'query { publicPassport(uuid: "subscription") { uuid } }')
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_queries_and_mutations_over_the_websocket_run_in_a_scope_of_their_own(
    passport_server: str, module_issuer: IdentityIssuer
) -> None:
    manager = module_issuer.token_for("acme-manager")
    with connected(passport_server, token=manager) as ws, connected(passport_server, token=manager) as watcher:
        watching = watcher.subscribe(CHANGED, {"id": PACK_06.id})
        asked = ws.subscribe(VERSION, {"id": PACK_06.id})
        message = ws.receive()
        assert (message["id"], message["type"]) == (asked, "next"), message
        version = message["payload"]["data"]["passport"]["version"]
        assert ws.receive() == {"id": asked, "type": "complete"}
        values = [{"key": "manufacture_date", "value": "2025-04-01"}]
        changed = ws.subscribe(SET_VALUES, {"id": PACK_06.id, "v": version, "values": values})
        message = ws.receive()
        assert message["payload"] == {"data": {"setPassportValues": {"version": version + 1}}}, message
        assert ws.receive() == {"id": changed, "type": "complete"}
        event = watcher.receive()
        assert event["id"] == watching and event["payload"]["data"]["passportChanged"]["version"] == version + 1
