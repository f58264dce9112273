"""@authenticated / @requiresScopes / @policy enforced by the gateway before any fetch.

Real subgraphs on loopback (fixture ``authz``: ``shop`` and ``passport``); every
request a subgraph receives is recorded, so the tests prove that a removed field is
never fetched. Paths follow Apollo Router: one error per removed selection, ``"@"``
for the items of a list, ``"... on T"`` for a type condition.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from gateway.authorization import AuthorizationConfig
from gateway.contracts import Principal
from gateway.runtime import Gateway

from .harness import Scenario, SubgraphServer, run, start_scenario

UNAUTHORIZED = "UNAUTHORIZED_FIELD_OR_TYPE"

PRODUCTS = [
    {"id": "p1", "name": "Kettle", "cost": 12.5, "margin": 3.5, "supplier": {"id": "s1", "name": "Acme"}},
    {"id": "p2", "name": "Toaster", "cost": 20.0, "margin": 4.0, "supplier": {"id": "s2", "name": "Bolt"}},
]
BY_ID = {p["id"]: p for p in PRODUCTS}
USERS = [{"id": "u1", "name": "Ada", "email": "ada@example.com"}]
VAULT = {"__typename": "Vault", "id": "v1", "secret": "s3cr3t"}


def _passport(rep: dict[str, Any]) -> dict[str, Any]:
    pid = rep["id"]
    return {
        "id": pid,
        "passport": {"id": f"pp-{pid}", "status": "PUBLISHED", "hash": f"h-{pid}"},
        "confidential": f"conf-{pid}",
        "restricted": f"restr-{pid}",
        "grade": "A",
    }


@pytest.fixture(scope="module")
def authz(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(
        subgraph_server,
        "authz",
        {
            "shop": {
                "fields": {
                    "Query.products": lambda _s: PRODUCTS,
                    "Query.product": lambda _s, a: BY_ID.get(a["id"]),
                    "Query.publicNote": lambda _s: "hello",
                    "Query.me": lambda _s: USERS[0],
                    "Query.secretCount": lambda _s: 42,
                    "Query.admins": lambda _s: USERS,
                    "Query.nodes": lambda _s: [{"__typename": "Product", **PRODUCTS[0]}, VAULT],
                    "Query.search": lambda _s: [{"__typename": "Product", **PRODUCTS[0]}, VAULT],
                    "Mutation.rename": lambda _s, a: {**BY_ID[a["id"]], "name": a["name"]},
                    "Mutation.publish": lambda _s, a: True,
                    "Mutation.ping": lambda _s: "pong",
                },
                "entities": {
                    "Product": lambda r: BY_ID.get(r["id"]),
                    "User": lambda r: USERS[0],
                    "Supplier": lambda r: {"id": r["id"], "name": "Acme"},
                    "Vault": lambda r: VAULT,
                },
            },
            "passport": {"entities": {"Product": _passport}},
        },
    )


def _gateway(s: Scenario, **config: Any) -> Gateway:
    gw = s.gateway()
    if config:
        overrides = {n: s.server.url(f"{s.name}/{n}") for n in s.subgraphs}
        gw = Gateway.from_supergraph_sdl(s.supergraph_sdl(), overrides, authorization=AuthorizationConfig(**config))
    return gw


def _err(*path: str | int) -> dict[str, Any]:
    return {"message": "Unauthorized field or type", "path": list(path), "extensions": {"code": UNAUTHORIZED}}


ANON = Principal()
USER = Principal(authenticated=True, user_id="u1", tenant_id="t1")


async def test_removed_field_is_null_with_error_and_never_fetched(authz: Scenario) -> None:
    authz.reset()
    body = await run(_gateway(authz), "{ products { name restricted } publicNote }", principal=ANON)
    assert body == {
        "errors": [_err("products", "@", "restricted")],
        "data": {
            "products": [{"name": "Kettle", "restricted": None}, {"name": "Toaster", "restricted": None}],
            "publicNote": "hello",
        },
    }
    assert authz.subgraphs["passport"].requests == []  # the only field passport serves was removed
    assert "restricted" not in authz.subgraphs["shop"].requests[0]["query"]


async def test_unauthorized_return_type(authz: Scenario) -> None:
    body = await run(_gateway(authz), "{ products { name supplier { name } } }", principal=ANON)
    assert body["errors"] == [_err("products", "@", "supplier")]
    assert body["data"] == {"products": [{"name": "Kettle", "supplier": None}, {"name": "Toaster", "supplier": None}]}
    body = await run(_gateway(authz), "{ products { supplier { name } } }", principal=USER)
    assert body == {"data": {"products": [{"supplier": {"name": "Acme"}}, {"supplier": {"name": "Bolt"}}]}}


async def test_unauthorized_enum_type_and_alias(authz: Scenario) -> None:
    body = await run(_gateway(authz), '{ p: product(id: "p2") { name g: grade } }', principal=USER)
    assert body == {"errors": [_err("p", "g")], "data": {"p": {"name": "Toaster", "g": None}}}


async def test_null_propagates_from_a_removed_non_null_field(authz: Scenario) -> None:
    body = await run(_gateway(authz), '{ product(id: "p1") { name margin } publicNote }', principal=USER)
    assert body == {"errors": [_err("product", "margin")], "data": {"product": None, "publicNote": "hello"}}
    # up to the root when every level is non-null (products: [Product!]!, id: ID!)
    body = await run(_gateway(authz), "{ products { id name } publicNote }", principal=USER)
    assert body == {"errors": [_err("products", "@", "id")], "data": None}


async def test_nested_entity_field_from_another_subgraph(authz: Scenario) -> None:
    authz.reset()
    query = '{ product(id: "p1") { name passport { status hash } } }'
    body = await run(_gateway(authz), query, principal=ANON)
    # hash is String!: its passport becomes null
    assert body == {
        "errors": [_err("product", "passport", "hash")],
        "data": {"product": {"name": "Kettle", "passport": None}},
    }
    assert "hash" not in authz.subgraphs["passport"].requests[0]["query"]
    body = await run(_gateway(authz), query, principal=USER)
    assert body == {"data": {"product": {"name": "Kettle", "passport": {"status": "PUBLISHED", "hash": "h-p1"}}}}


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        (set(), False),
        ({"catalog:cost"}, False),  # one of two in an alternative: not enough
        ({"finance"}, False),
        ({"catalog:cost", "finance"}, True),  # inner list: AND
        ({"admin"}, True),  # outer list: OR
        ({"admin", "unrelated"}, True),
    ],
)
async def test_scopes_inner_and_outer_or(authz: Scenario, scopes: set[str], allowed: bool) -> None:
    principal = Principal(authenticated=True, scopes=frozenset(scopes))
    body = await run(_gateway(authz), '{ product(id: "p1") { name cost } }', principal=principal)
    if allowed:
        assert body == {"data": {"product": {"name": "Kettle", "cost": 12.5}}}
    else:
        assert body == {"errors": [_err("product", "cost")], "data": {"product": {"name": "Kettle", "cost": None}}}


@pytest.mark.parametrize(
    ("policies", "allowed"),
    [
        (set(), False),
        ({"finance:read"}, False),
        ({"finance:read", "catalog:feature"}, True),
        ({"pricing:read"}, True),
    ],
)
async def test_policies_inner_and_outer_or(authz: Scenario, policies: set[str], allowed: bool) -> None:
    principal = Principal(authenticated=True, policies=frozenset(policies))
    body = await run(_gateway(authz), '{ product(id: "p1") { name margin } }', principal=principal)
    if allowed:
        assert body == {"data": {"product": {"name": "Kettle", "margin": 3.5}}}
    else:
        assert body == {"errors": [_err("product", "margin")], "data": {"product": None}}


async def test_scopes_and_policies_on_one_request(authz: Scenario) -> None:
    principal = Principal(authenticated=True, scopes=frozenset({"admin"}), policies=frozenset())
    body = await run(_gateway(authz), '{ product(id: "p1") { cost confidential } }', principal=principal)
    assert body == {
        "errors": [_err("product", "confidential")],
        "data": {"product": {"cost": 12.5, "confidential": None}},
    }


async def test_key_fields_join_when_the_caller_may_not_read_them(authz: Scenario) -> None:
    # Product.id needs catalog:ids; the caller lacks it, yet the planner's own key
    # selection still joins shop and passport
    authz.reset()
    principal = Principal(authenticated=True, scopes=frozenset({"passport:restricted"}))
    body = await run(_gateway(authz), "{ products { name restricted } }", principal=principal)
    assert body == {
        "data": {
            "products": [{"name": "Kettle", "restricted": "restr-p1"}, {"name": "Toaster", "restricted": "restr-p2"}]
        }
    }
    reps = authz.subgraphs["passport"].requests[0]["variables"]["representations"]
    assert reps == [{"__typename": "Product", "id": "p1"}, {"__typename": "Product", "id": "p2"}]


async def test_union_member_type_reached_through_a_fragment(authz: Scenario) -> None:
    query = "{ search { __typename ... on Product { name } ... on Vault { secret } } }"
    body = await run(_gateway(authz), query, principal=ANON)
    assert body == {
        "errors": [_err("search", "@", "... on Vault")],
        "data": {"search": [{"__typename": "Product", "name": "Kettle"}, {"__typename": "Vault", "secret": None}]},
    }
    assert "secret" not in authz.subgraphs["shop"].requests[-1]["query"]
    body = await run(_gateway(authz), query, principal=USER)
    assert body["data"]["search"][1] == {"__typename": "Vault", "secret": "s3cr3t"}


async def test_authenticated_type_through_an_interface_fragment(authz: Scenario) -> None:
    # Composed as Apollo does, the interface carries what its implementations ask
    # (Node is @authenticated because Vault is): the field returning it goes as a whole.
    body = await run(_gateway(authz), "{ nodes { __typename } publicNote }", principal=ANON)
    assert body == {"errors": [_err("nodes", "@")], "data": {"nodes": None, "publicNote": "hello"}}
    # A supergraph whose interface does not carry them (an older composer): the
    # fragment on the @authenticated implementation is what goes.
    sdl = authz.supergraph_sdl().replace(
        "interface Node\n  @join__type(graph: SHOP)\n  @authenticated\n", "interface Node\n  @join__type(graph: SHOP)\n"
    )
    assert sdl != authz.supergraph_sdl()
    overrides = {n: authz.server.url(f"{authz.name}/{n}") for n in authz.subgraphs}
    gw = Gateway.from_supergraph_sdl(sdl, overrides)
    body = await run(gw, "{ nodes { __typename ... on Product { name } ... on Vault { secret } } }", principal=ANON)
    assert body == {
        "errors": [_err("nodes", "@", "... on Vault")],
        "data": {"nodes": [{"__typename": "Product", "name": "Kettle"}, {"__typename": "Vault", "secret": None}]},
    }
    # a field selected on the interface itself needs what every implementation asks
    body = await run(gw, "{ nodes { __typename id } }", principal=USER)
    assert body == {"errors": [_err("nodes", "@", "id")], "data": {"nodes": None}}


async def test_everything_denied_rejects_the_request(authz: Scenario) -> None:
    authz.reset()
    body = await run(_gateway(authz), "{ me { name } secretCount }", principal=ANON)
    assert body == {"errors": [_err("me"), _err("secretCount")], "data": None}
    assert all(not app.requests for app in authz.subgraphs.values())


async def test_reject_mode_refuses_the_whole_request(authz: Scenario) -> None:
    authz.reset()
    gw = _gateway(authz, mode="reject")
    body = await run(gw, "{ publicNote products { name restricted } }", principal=ANON)
    assert body == {"errors": [_err("products", "@", "restricted")], "data": None}
    assert all(not app.requests for app in authz.subgraphs.values())
    body = await run(gw, "{ publicNote }", principal=ANON)
    assert body == {"data": {"publicNote": "hello"}}


async def test_dry_run_logs_and_executes_unfiltered(authz: Scenario, caplog: pytest.LogCaptureFixture) -> None:
    gw = _gateway(authz, dry_run=True)
    with caplog.at_level(logging.WARNING, logger="gateway.authorization"):
        body = await run(gw, '{ product(id: "p1") { name cost } }', principal=ANON)
    assert body == {"data": {"product": {"name": "Kettle", "cost": 12.5}}}
    lines = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "gateway.authorization"]
    assert lines == [
        {
            "event": "authorization.dry_run",
            "would_remove": [["product", "cost"]],
            "would_reject": False,
            "tenant": None,
            "user": None,
            "correlation_id": None,
        }
    ]


async def test_introspection_is_never_filtered(authz: Scenario) -> None:
    query = '{ __schema { queryType { name } } __type(name: "Vault") { name fields { name } } }'
    body = await run(_gateway(authz), query, principal=ANON)
    assert body == {
        "data": {
            "__schema": {"queryType": {"name": "Query"}},
            "__type": {"name": "Vault", "fields": [{"name": "id"}, {"name": "secret"}]},
        }
    }
    body = await run(_gateway(authz), "{ __typename me { name } }", principal=ANON)
    assert body == {"errors": [_err("me")], "data": {"__typename": "Query", "me": None}}


async def test_denied_mutation_is_audited(authz: Scenario, caplog: pytest.LogCaptureFixture) -> None:
    authz.reset()
    principal = Principal(authenticated=True, user_id="u1", tenant_id="t1", scopes=frozenset({"catalog:write"}))
    query = 'mutation { ping publish(id: "p1") rename(id: "p1", name: "K2") { name } }'
    with caplog.at_level(logging.INFO, logger="gateway.audit"):
        outcome = await _gateway(authz).execute(
            _request(query), transport=_Transport(), headers={"x-request-id": "req-7"}, principal=principal
        )
    assert outcome.to_response() == {
        "errors": [_err("publish")],
        "data": {"ping": "pong", "publish": None, "rename": {"name": "K2"}},
    }
    lines = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "gateway.audit"]
    assert lines == [
        {
            "tenant": "t1",
            "user": "u1",
            "action": "publish",
            "result": "DENIED",
            "reason": UNAUTHORIZED,
            "correlation_id": "req-7",
            "source": "gateway",
        }
    ]
    assert "publish" not in authz.subgraphs["shop"].requests[0]["query"]


async def test_variables_of_a_removed_field_are_not_sent(authz: Scenario) -> None:
    authz.reset()
    query = "mutation($id: ID!, $n: String!) { ping rename(id: $id, name: $n) { name } }"
    body = await run(_gateway(authz), query, {"id": "p1", "n": "K2"}, principal=USER)
    assert body == {"errors": [_err("rename")], "data": {"ping": "pong", "rename": None}}
    assert authz.subgraphs["shop"].requests == [{"query": "mutation{ping}"}]


async def test_a_field_selected_twice_is_one_error(authz: Scenario) -> None:
    query = '{ product(id: "p1") { cost } product(id: "p1") { name cost } }'
    body = await run(_gateway(authz), query, principal=USER)
    assert body == {"errors": [_err("product", "cost")], "data": {"product": {"cost": None, "name": "Kettle"}}}


async def test_rejected_mutation_audits_every_field(authz: Scenario, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.audit"):
        outcome = await _gateway(authz, mode="reject").execute(
            _request('mutation { ping publish(id: "p1") }'), transport=_Transport(), headers={}, principal=USER
        )
    assert outcome.data is None
    actions = [orjson.loads(r.getMessage())["action"] for r in caplog.records if r.name == "gateway.audit"]
    assert actions == ["ping", "publish"]


async def test_verdicts_and_filtered_plans_are_cached(authz: Scenario) -> None:
    gw = _gateway(authz)
    query = '{ product(id: "p1") { name cost restricted } }'
    for _ in range(3):
        await run(gw, query, principal=ANON)
    prepared = gw.prepare(query, None)
    assert prepared.access is not None
    assert len(prepared.access.verdicts) == 1
    (verdict,) = prepared.access.verdicts.values()
    assert verdict.planned and "restricted" not in verdict.plan_text and "cost" not in verdict.plan_text
    # a caller allowed everything runs the prepared plan itself
    everything = Principal(authenticated=True, scopes=frozenset({"admin", "passport:restricted"}))
    outcome = await gw.execute(
        _request(query), transport=_Transport(), headers={}, principal=everything, include_plan=True
    )
    assert outcome.extensions == {"queryPlan": {"text": prepared.plan_text}}
    assert len(prepared.access.verdicts) == 1


async def test_policy_names_and_operations_without_requirements(authz: Scenario) -> None:
    gw = _gateway(authz)
    assert gw.policy_names == frozenset(
        {
            "passport:publish",
            "finance:read",
            "catalog:feature",
            "pricing:read",
            "identity.audit:read",
            "passport.confidential:read",
        }
    )
    assert gw.prepare("{ publicNote products { name } }", None).access is None


def _request(query: str) -> Any:
    from gateway.contracts import GraphQLRequest

    return GraphQLRequest(query=query)


class _Transport:
    """The production transport, opened per call (these tests send a few requests each)."""

    async def fetch(self, subgraph: str, url: str, payload: Any, headers: Any) -> Any:
        from gateway.transport import HTTPTransport

        async with HTTPTransport() as transport:
            return await transport.fetch(subgraph, url, payload, headers)
