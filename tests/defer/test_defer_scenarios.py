"""@defer on scenario supergraphs with real subgraphs on loopback (tests/gateway_core/fixtures):
a fragment on one member of an abstract type, a mutation (sent once, the deferred part is a
query), and authorization directives (a trimmed plan is answered whole)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.contracts import GraphQLRequest, Principal
from gateway.incremental import IncrementalOutcome
from gateway.transport import HTTPTransport
from tests.gateway_core.harness import Scenario, SubgraphServer, run, start_scenario
from tests.gateway_core.test_products import RESOLVERS as PRODUCTS_RESOLVERS

MEDIA: list[dict[str, Any]] = [
    {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412},
    {"__typename": "Movie", "id": "m1", "title": "Alien", "duration": 117},
    {"__typename": "Song", "id": "s1", "title": "Blue"},
    {"__typename": "Book", "id": "b2", "title": "Emma", "pages": 300},
]
MEDIA_BY_ID = {m["id"]: m for m in MEDIA}
PRODUCTS: dict[str, dict[str, Any]] = {"p1": {"id": "p1", "name": "Kettle", "cost": 12.5, "margin": 3.5}}


@pytest.fixture(scope="module")
def server() -> Iterator[SubgraphServer]:
    s = SubgraphServer().start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def abstract(server: SubgraphServer) -> Scenario:
    return start_scenario(server, "abstract", {
        "a": {
            "fields": {"Query.media": lambda _s: [{k: v for k, v in m.items() if k not in ("pages", "duration")}
                                                  for m in MEDIA]},
            "entities": {"Book": lambda r: MEDIA_BY_ID.get(r["id"]), "Movie": lambda r: MEDIA_BY_ID.get(r["id"])},
        },
        "b": {
            "entities": {
                "Book": lambda r: {"id": r["id"], "pages": MEDIA_BY_ID[r["id"]]["pages"]},
                "Movie": lambda r: {"id": r["id"], "duration": MEDIA_BY_ID[r["id"]]["duration"]},
            },
        },
    })


@pytest.fixture(scope="module")
def mutations(server: SubgraphServer) -> Scenario:
    products: dict[str, dict[str, Any]] = {}

    def add_product(_s: Any, a: dict[str, Any]) -> dict[str, Any]:
        p = {"id": f"p{len(products) + 1}", "name": a["name"], "price": a["price"]}
        products[p["id"]] = p
        return p

    return start_scenario(server, "mutations", {
        "a": {"fields": {"Mutation.addProduct": add_product, "Query.product": lambda _s, a: products.get(a["id"])},
              "entities": {"Product": lambda r: products.get(r["id"])}},
        "b": {"fields": {"Product.isExpensive": lambda p: p["price"] > 500},
              "entities": {"Product": lambda r: dict(r)}},
    })


@pytest.fixture(scope="module")
def authz(server: SubgraphServer) -> Scenario:
    return start_scenario(server, "authz", {
        "shop": {"fields": {"Query.products": lambda _s: list(PRODUCTS.values())},
                 "entities": {"Product": lambda r: PRODUCTS.get(r["id"])}},
        "passport": {"entities": {"Product": lambda r: {"id": r["id"], "restricted": f"restr-{r['id']}",
                                                        "grade": "A"}}},
    })


@pytest.fixture(scope="module")
def products(server: SubgraphServer) -> Scenario:
    return start_scenario(server, "products", PRODUCTS_RESOLVERS)


async def incremental(gateway: Any, query: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every payload of one execution that asked for incremental delivery."""
    async with HTTPTransport() as transport:
        outcome = await gateway.execute(GraphQLRequest(query=query), transport=transport, headers={},
                                        incremental=True, **kwargs)
        if not isinstance(outcome, IncrementalOutcome):
            return [outcome.to_response()]
        assert outcome.subsequent is not None
        return [outcome.to_response(), *[p async for p in outcome.subsequent]]


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    data = copy.deepcopy(parts[0]["data"])
    for part in parts[1:]:
        for item in part.get("incremental", ()):
            target = data
            for seg in item["path"]:
                target = target[seg]
            target.update(item["data"])
    return data


async def test_a_fragment_on_one_member_has_items_for_that_members_objects(abstract: Scenario) -> None:
    gw = abstract.gateway()
    parts = await incremental(gw, '{ media { title ... on Book @defer(label: "book") { pages } } }')
    assert parts[0]["data"]["media"] == [{"title": m["title"]} for m in MEDIA]
    assert parts[1] == {
        "incremental": [
            {"data": {"pages": 412}, "path": ["media", 0], "label": "book"},
            {"data": {"pages": 300}, "path": ["media", 3], "label": "book"},
        ],
        "hasNext": False,
    }
    assert merged(parts) == (await run(gw, "{ media { title ... on Book { pages } } }"))["data"]


async def test_a_mutation_is_sent_once_and_its_deferred_part_is_a_query(mutations: Scenario) -> None:
    mutations.reset()
    gw = mutations.gateway()
    query = 'mutation { c: addProduct(name: "n", price: 600) { name ... @defer { isExpensive } } }'
    parts = await incremental(gw, query)
    assert parts[0] == {"data": {"c": {"name": "n"}}, "hasNext": True}
    assert parts[1] == {"incremental": [{"data": {"isExpensive": True}, "path": ["c"]}], "hasNext": False}
    sent = [r["query"] for app in mutations.subgraphs.values() for r in app.requests]
    assert sum(q.startswith("mutation") for q in sent) == 1
    assert all(q.startswith("query") for q in sent if not q.startswith("mutation"))


async def test_a_plan_trimmed_by_authorization_is_answered_whole(authz: Scenario) -> None:
    gw = authz.gateway()
    query = "{ products { name ... @defer { restricted grade } } }"
    anonymous = await incremental(gw, query, principal=Principal())
    assert len(anonymous) == 1 and "hasNext" not in anonymous[0]
    assert anonymous[0] == await run(gw, "{ products { name restricted grade } }", principal=Principal())
    assert anonymous[0]["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    allowed = Principal(authenticated=True, user_id="u1", tenant_id="t1",
                        scopes=frozenset({"passport:restricted", "grades:read"}))
    parts = await incremental(gw, query, principal=allowed)
    assert parts[1]["incremental"] == [{"data": {"restricted": "restr-p1", "grade": "A"}, "path": ["products", 0]}]


@pytest.mark.parametrize("query", [
    "{ topProducts { name ... @defer { shippingEstimate inStock } } }",  # @requires in the deferred part
    "{ topProducts { name ... @defer { inStock reviews { body author { name } } } } }",  # parallel, then deeper
    '{ topProducts { upc ... @defer(label: "w") { warehouse name } } }',  # a field error in the deferred part
    "{ topProducts { name ... @defer { reviews { body ... @defer { author { name } } } } } }",  # nested, in lists
])
async def test_the_parts_add_up_to_the_answer_without_defer(products: Scenario, query: str) -> None:
    gw = products.gateway()
    parts = await incremental(gw, query)
    plain = await run(gw, query.replace('@defer(label: "w")', "").replace("@defer", ""))
    assert parts[0]["hasNext"] is True and parts[-1]["hasNext"] is False
    assert merged(parts) == plain["data"]
    errors = [e for p in parts for i in p.get("incremental", ()) for e in i.get("errors", ())]
    assert errors == plain.get("errors", [])
    for p in parts[1:]:
        for item in p.get("incremental", ()):
            for e in item.get("errors", ()):
                assert e["path"][: len(item["path"])] == item["path"]  # carried by the item it is under


@pytest.mark.parametrize("query", [
    "{ media { ... @defer { title } } }",  # on an interface (no key): re-asked from the root
    "{ media { title ... @defer { ... on Book { pages } ... on Movie { duration } } } }",
    '{ media { ... on Book { title ... @defer(label: "p") { pages } } } }',  # under a narrowing fragment
])
async def test_abstract_lists_add_up_to_the_answer_without_defer(abstract: Scenario, query: str) -> None:
    gw = abstract.gateway()
    parts = await incremental(gw, query)
    assert parts[0]["hasNext"] is True and parts[-1]["hasNext"] is False
    plain = await run(gw, query.replace('@defer(label: "p")', "").replace("@defer", ""))
    assert merged(parts) == plain["data"]


async def test_a_defer_under_a_narrowing_fragment_has_items_for_that_type_only(abstract: Scenario) -> None:
    query = '{ media { ... on Book { title ... @defer(label: "p") { pages } } } }'
    parts = await incremental(abstract.gateway(), query)
    assert [(i["path"], i["data"]) for i in parts[1]["incremental"]] == [
        (["media", 0], {"pages": 412}), (["media", 3], {"pages": 300})
    ]
