"""The subscription service over the real passport and catalog subgraphs (SQLite, in-process bus)
and the checked-in supergraph: a committed passport change arrives completed with the product's
name and category from catalog, for the subscriber's tenant only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.contracts import GraphQLRequest, Principal
from gateway.http.state import GatewayState, sdl_digest
from gateway.runtime import Gateway
from gateway.settings import Settings
from gateway.subscriptions import SubscriptionConfig, SubscriptionRejected, Subscriptions
from gateway.transport import HTTPTransport
from subgraphs.common import demo
from tests.support.fixtures import identity_issuers
from tests.support.identity import IdentityIssuer, IdentityIssuers
from tests.support.subgraphs import running_subgraph

from .conftest import receive

__all__ = ["identity_issuers"]

SUPERGRAPH = Path(__file__).resolve().parents[3] / "schema" / "supergraph.graphql"
PACK = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_03")
CHANGED = """subscription($id: ID!) {
  passportChanged(id: $id) { id name version product { name category { name } } } }"""
VERSION = "query($id: ID!) { passport(id: $id) { version } }"
SET_VALUES = """mutation($id: ID!, $v: Int!, $values: [FieldValueInput!]!) {
  setPassportValues(id: $id, expectedVersion: $v, values: $values) { version } }"""


@dataclass
class Stack:
    issuer: IdentityIssuer
    passport: str
    catalog: str


@pytest.fixture(scope="module")
def stack(identity_issuers: IdentityIssuers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    def db(name: str) -> str:
        return f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp(name) / f'{name}.db').as_posix()}"

    issuer = identity_issuers.get("sqlite", lambda: db("identity"))
    with ExitStack() as servers:
        passport = servers.enter_context(running_subgraph("passport", db("passport"), **issuer.overrides()))
        catalog = servers.enter_context(running_subgraph("catalog", db("catalog"), **issuer.overrides()))
        yield Stack(issuer, passport.url + "/graphql", catalog.url + "/graphql")


@pytest.fixture
async def service(stack: Stack) -> AsyncIterator[Subscriptions]:
    sdl = SUPERGRAPH.read_text()
    state = GatewayState()
    runtime = Gateway.from_supergraph_sdl(sdl, {"passport": stack.passport, "catalog": stack.catalog})
    state.install(runtime, sdl_digest(sdl))
    transport = HTTPTransport.from_settings(Settings())
    subscriptions = Subscriptions(Settings(), state, transport, config=SubscriptionConfig(resume_window=0))
    try:
        yield subscriptions
    finally:
        await subscriptions.aclose()
        await transport.aclose()


async def post(url: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(url, json={"query": query, "variables": variables},
                                     headers={"authorization": f"Bearer {token}"})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


async def touch(stack: Stack, token: str) -> int:
    """Change a value of the DRAFT passport through the passport subgraph; its new version."""
    version = (await post(stack.passport, VERSION, {"id": PACK.id}, token))["passport"]["version"]
    values = [{"key": "manufacture_date", "value": f"2025-02-0{version % 9 + 1}"}]
    changed = await post(stack.passport, SET_VALUES, {"id": PACK.id, "v": version, "values": values}, token)
    return int(changed["setPassportValues"]["version"])


def member(issuer: IdentityIssuer, user: str) -> tuple[Principal, dict[str, str]]:
    token = issuer.token_for(user)
    tenant = demo.tenant("acme").id if user.startswith("acme") else demo.tenant("greenloop").id
    return (Principal(authenticated=True, user_id=user, tenant_id=tenant),
            {"authorization": f"Bearer {token}", "x-request-id": f"sub-{user}"})


async def test_a_passport_change_arrives_with_catalog_fields(stack: Stack, service: Subscriptions) -> None:
    principal, headers = member(stack.issuer, "acme-viewer")
    stream = await service.open(GraphQLRequest(CHANGED, {"id": PACK.id}), principal=principal, headers=headers)
    assert not isinstance(stream, SubscriptionRejected), stream
    await asyncio.sleep(0.5)  # the upstream subscription is open before the change is made
    version = await touch(stack, stack.issuer.token_for("acme-manager"))
    message = await receive(stream, 15)
    assert "errors" not in message.payload, message.payload
    changed = message.payload["data"]["passportChanged"]
    assert (changed["id"], changed["name"], changed["version"]) == (PACK.id, PACK.name, version)
    assert changed["product"]["name"] and changed["product"]["category"]["name"]  # from catalog
    assert service.stats.completions == 1 and service.stats.upstreams == 1
    await stream.aclose()


async def test_anonymous_subscription_to_tenant_data_is_refused(stack: Stack, service: Subscriptions) -> None:
    refused = await service.open(GraphQLRequest(CHANGED, {"id": PACK.id}), principal=Principal(), headers={})
    assert isinstance(refused, SubscriptionRejected)
    assert refused.errors[0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    assert service.stats.upstreams == 0


async def test_another_tenant_receives_nothing(stack: Stack, service: Subscriptions) -> None:
    events = "subscription { passportEvents { id product { name } } }"
    acme, acme_headers = member(stack.issuer, "acme-viewer")
    other, other_headers = member(stack.issuer, "greenloop-admin")
    mine = await service.open(GraphQLRequest(events), principal=acme, headers=acme_headers)
    theirs = await service.open(GraphQLRequest(events), principal=other, headers=other_headers)
    assert not isinstance(mine, SubscriptionRejected) and not isinstance(theirs, SubscriptionRejected)
    assert service.stats.upstreams == 2  # another identity never shares an upstream
    await asyncio.sleep(0.5)
    await touch(stack, stack.issuer.token_for("acme-manager"))
    message = await receive(mine, 15)
    assert message.payload["data"]["passportEvents"]["id"] == PACK.id
    assert message.payload["data"]["passportEvents"]["product"]["name"]
    with pytest.raises(TimeoutError):
        await receive(theirs, 1.0)
    await mine.aclose()
    await theirs.aclose()


async def test_a_subscription_the_subgraph_refuses_ends_with_its_error(stack: Stack, service: Subscriptions) -> None:
    foreign = next(p for p in demo.PASSPORTS if p.name == "GRL_ORGANIC_TEE_02")
    principal, headers = member(stack.issuer, "acme-viewer")
    stream = await service.open(GraphQLRequest(CHANGED, {"id": foreign.id}), principal=principal, headers=headers)
    assert not isinstance(stream, SubscriptionRejected), stream
    message = await receive(stream, 15)
    assert message.final
    assert message.payload["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert message.payload["errors"][0]["extensions"]["serviceName"] == "passport"
    await asyncio.sleep(0.1)
    assert service.stats.upstreams == 0


async def test_anonymous_public_passport_subscription(stack: Stack, service: Subscriptions) -> None:
    query = "subscription($uuid: String!) { publicPassportChanged(uuid: $uuid) { uuid status } }"
    published = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_02")  # PUBLISHED
    stream = await service.open(GraphQLRequest(query, {"uuid": published.public_uuid}), principal=Principal(),
                                headers={})
    assert not isinstance(stream, SubscriptionRejected), stream
    await asyncio.sleep(0.5)
    admin = stack.issuer.token_for("acme-admin")
    archive = "mutation($id: ID!) { archivePassport(id: $id) { status } }"
    await post(stack.passport, archive, {"id": published.id}, admin)
    message = await receive(stream, 15)
    assert message.payload == {"data": {"publicPassportChanged": {"uuid": published.public_uuid, "status": "ARCHIVED"}}}
    await stream.aclose()


async def test_event_ids_are_the_bus_ids_so_another_replica_can_resume(stack: Stack) -> None:
    """Two gateway services (two replicas) on the same subgraphs: an event has the same id on both,
    so a client that read event 1 on one and comes back to the other after event 2 gets event 2."""
    sdl = SUPERGRAPH.read_text()
    transport = HTTPTransport.from_settings(Settings())
    replicas = []
    for _ in range(2):
        state = GatewayState()
        state.install(Gateway.from_supergraph_sdl(sdl, {"passport": stack.passport, "catalog": stack.catalog}),
                      sdl_digest(sdl))
        replicas.append(Subscriptions(Settings(), state, transport, config=SubscriptionConfig(resume_window=5)))
    one, two = replicas
    principal, headers = member(stack.issuer, "acme-viewer")
    request = GraphQLRequest(CHANGED, {"id": PACK.id})
    try:
        client = await one.open(request, principal=principal, headers=headers)
        other = await two.open(request, principal=principal, headers=headers)  # keeps replica two's upstream
        assert not isinstance(client, SubscriptionRejected) and not isinstance(other, SubscriptionRejected)
        await asyncio.sleep(0.5)
        manager = stack.issuer.token_for("acme-manager")
        await touch(stack, manager)
        first = await receive(client, 15)
        assert first.event_id is not None and first.event_id.count("-") == 1, first.event_id  # <ms>-<seq>
        assert (await receive(other, 15)).event_id == first.event_id
        await client.aclose()  # the connection to replica one drops ...
        version = await touch(stack, manager)
        missed = await receive(other, 15)
        resumed = await two.open(request, principal=principal, headers=headers, last_event_id=first.event_id)
        assert not isinstance(resumed, SubscriptionRejected)
        replayed = await receive(resumed, 15)  # ... and it comes back to replica two
        assert replayed.event_id == missed.event_id
        assert replayed.payload["data"]["passportChanged"]["version"] == version
        await resumed.aclose()
        await other.aclose()
    finally:
        for replica in replicas:
            await replica.aclose()
        await transport.aclose()
