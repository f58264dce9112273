"""Entities, @requires, @provides, nested jumps, variables, fragments, aliases, failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Scenario, SubgraphServer, run, start_scenario

PRODUCTS = {
    "1": {"upc": "1", "name": "Table", "price": 899, "weight": 100, "status": "ACTIVE"},
    "2": {"upc": "2", "name": "Couch", "price": 1299, "weight": 1000, "status": "RETIRED"},
    "3": {"upc": "3", "name": "Chair", "price": 54, "weight": 50, "status": "GONE"},
}
USERS = {"1": {"id": "1", "name": "Ada Lovelace", "username": "@ada"},
         "2": {"id": "2", "name": "Alan Turing", "username": "@complete"}}
REVIEWS = [
    {"id": "1", "authorID": "1", "product": {"upc": "1"}, "body": "Love it!"},
    {"id": "2", "authorID": "1", "product": {"upc": "2"}, "body": "Too expensive."},
    {"id": "3", "authorID": "2", "product": {"upc": "3"}, "body": "Could be better."},
    {"id": "4", "authorID": "2", "product": {"upc": "1"}, "body": "Prefer something else."},
]


def _review_author(review: dict[str, Any]) -> dict[str, Any]:
    user = USERS[review["authorID"]]
    return {"__typename": "User", "id": user["id"], "username": user["username"]}


def _warehouse(product: dict[str, Any]) -> str:
    if product["upc"] == "3":
        raise ValueError("warehouse unknown")
    return "W" + product["upc"]


RESOLVERS: dict[str, dict[str, Any]] = {
    "products": {
        "fields": {
            "Query.topProducts": lambda _s, a: list(PRODUCTS.values())[: a.get("first", 5)],
            "Query.product": lambda _s, a: PRODUCTS.get(a["upc"]),
        },
        "entities": {"Product": lambda rep: PRODUCTS.get(rep["upc"])},
    },
    "inventory": {
        "fields": {
            "Product.shippingEstimate": lambda p: 0 if p["price"] > 1000 else p["weight"] // 2,
            "Product.inStock": lambda p: p["upc"] != "2",
            "Product.warehouse": _warehouse,
        },
        "entities": {"Product": lambda rep: dict(rep)},
    },
    "reviews": {
        "fields": {
            "Product.reviews": lambda p: [r for r in REVIEWS if r["product"]["upc"] == p["upc"]],
            "Review.author": _review_author,
            "User.reviews": lambda u: [r for r in REVIEWS if r["authorID"] == u["id"]],
        },
        "entities": {
            "Product": lambda rep: {"upc": rep["upc"]},
            "User": lambda rep: {"id": rep["id"]},
            "Review": lambda rep: next((r for r in REVIEWS if r["id"] == rep["id"]), None),
        },
    },
    "accounts": {
        "fields": {"Query.me": lambda _s: USERS["1"]},
        "entities": {"User": lambda rep: USERS.get(rep["id"])},
    },
}


@pytest.fixture(scope="module")
def scenario(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    s = start_scenario(subgraph_server, "products", RESOLVERS)
    yield s


@pytest.fixture
def gw(scenario: Scenario) -> Any:
    scenario.reset()
    return scenario.gateway()


async def test_single_subgraph_query(gw: Any) -> None:
    body = await run(gw, "{ topProducts(first: 2) { upc name price } }")
    assert body == {"data": {"topProducts": [
        {"upc": "1", "name": "Table", "price": 899},
        {"upc": "2", "name": "Couch", "price": 1299},
    ]}}


async def test_entity_jump_with_requires_and_field_order(gw: Any, scenario: Scenario) -> None:
    body = await run(gw, "{ topProducts { shippingEstimate name inStock upc } }")
    assert body == {"data": {"topProducts": [
        {"shippingEstimate": 50, "name": "Table", "inStock": True, "upc": "1"},
        {"shippingEstimate": 0, "name": "Couch", "inStock": False, "upc": "2"},
        {"shippingEstimate": 25, "name": "Chair", "inStock": True, "upc": "3"},
    ]}}
    # inStock and shippingEstimate come from one _entities request carrying price and weight
    inv = scenario.subgraphs["inventory"].requests
    assert len(inv) == 1
    assert inv[0]["variables"]["representations"] == [
        {"__typename": "Product", "upc": "1", "price": 899, "weight": 100},
        {"__typename": "Product", "upc": "2", "price": 1299, "weight": 1000},
        {"__typename": "Product", "upc": "3", "price": 54, "weight": 50},
    ]


async def test_nested_entities_deduplicated_representations(gw: Any, scenario: Scenario) -> None:
    body = await run(gw, "{ topProducts { name reviews { body author { name username } } } }")
    assert body["data"]["topProducts"][0] == {
        "name": "Table",
        "reviews": [
            {"body": "Love it!", "author": {"name": "Ada Lovelace", "username": "@ada"}},
            {"body": "Prefer something else.", "author": {"name": "Alan Turing", "username": "@complete"}},
        ],
    }
    acc = scenario.subgraphs["accounts"].requests
    assert len(acc) == 1
    # four reviews, two authors: two representations
    assert acc[0]["variables"]["representations"] == [
        {"__typename": "User", "id": "1"},
        {"__typename": "User", "id": "2"},
    ]


async def test_provides_avoids_a_fetch(gw: Any, scenario: Scenario) -> None:
    body = await run(gw, "{ topProducts(first: 1) { reviews { author { username } } } }")
    assert body == {"data": {"topProducts": [{"reviews": [
        {"author": {"username": "@ada"}}, {"author": {"username": "@complete"}},
    ]}]}}
    assert scenario.subgraphs["accounts"].requests == []


async def test_aliases_variables_defaults_fragments_and_typename(gw: Any) -> None:
    query = """
    query Q($upc: String!, $first: Int = 1, $withName: Boolean = true) {
      p: product(upc: $upc) { ...F  label: name @include(if: $withName) }
      list: topProducts(first: $first) { __typename id: upc }
      __typename
    }
    fragment F on Product { __typename upc estimate: shippingEstimate }
    """
    body = await run(gw, query, {"upc": "2"})
    assert body == {"data": {
        "p": {"__typename": "Product", "upc": "2", "estimate": 0, "label": "Couch"},
        "list": [{"__typename": "Product", "id": "1"}],
        "__typename": "Query",
    }}
    body = await run(gw, query, {"upc": "2", "withName": False})
    assert body["data"]["p"] == {"__typename": "Product", "upc": "2", "estimate": 0}


async def test_same_field_with_two_aliases_across_subgraphs(gw: Any) -> None:
    body = await run(gw, "{ product(upc: \"1\") { a: inStock b: name name: upc upc: name } }")
    assert body == {"data": {"product": {"a": True, "b": "Table", "name": "1", "upc": "Table"}}}


async def test_enum_value_unknown_to_the_api_is_nulled(gw: Any) -> None:
    body = await run(gw, '{ product(upc: "3") { status } }')
    assert body["data"] == {"product": {"status": None}}
    assert body["errors"][0]["path"] == ["product", "status"]


async def test_validation_and_parse_errors_never_reach_subgraphs(gw: Any, scenario: Scenario) -> None:
    body = await run(gw, "{ topProducts { nope } }")
    assert body == {"errors": [{
        "message": "Cannot query field 'nope' on type 'Product'. Did you mean 'name'?",
        "locations": [{"line": 1, "column": 17}],
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
    }]}
    body = await run(gw, "{ topProducts { secret } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = await run(gw, "{ topProducts { ")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "data" not in body
    assert all(not app.requests for app in scenario.subgraphs.values())


async def test_introspection_mixed_with_fields(gw: Any, scenario: Scenario) -> None:
    body = await run(gw, '{ __type(name: "Product") { name fields { name } } me { name } }')
    assert body == {"data": {
        "__type": {"name": "Product", "fields": [
            {"name": "upc"}, {"name": "weight"}, {"name": "price"}, {"name": "inStock"},
            {"name": "warehouse"}, {"name": "shippingEstimate"}, {"name": "name"}, {"name": "status"},
            {"name": "reviews"},
        ]},
        "me": {"name": "Ada Lovelace"},
    }}
    body = await run(gw, "{ __schema { queryType { name } mutationType { name } } }")
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}, "mutationType": None}}}
    assert [n for n, app in scenario.subgraphs.items() if app.requests] == ["accounts"]


async def test_failing_subgraph_gives_partial_data(gw: Any, scenario: Scenario) -> None:
    scenario.subgraphs["inventory"].fail = True
    body = await run(gw, "{ topProducts(first: 1) { name inStock } me { name } }")
    assert body["data"] == {"topProducts": [{"name": "Table", "inStock": None}], "me": {"name": "Ada Lovelace"}}
    assert len(body["errors"]) == 1
    err = body["errors"][0]
    assert err["extensions"]["code"] == "SUBGRAPH_FETCH_FAILED"
    assert err["extensions"]["serviceName"] == "inventory"
    assert err["path"] == ["topProducts", 0]


async def test_non_null_hole_propagates_to_nullable_parent(gw: Any, scenario: Scenario) -> None:
    scenario.subgraphs["accounts"].fail = True
    body = await run(gw, "{ topProducts(first: 1) { name reviews { author { name } } } }")
    # User.name is String!: its hole nulls the author
    assert body["data"] == {"topProducts": [{"name": "Table", "reviews": [{"author": None}, {"author": None}]}]}
    assert body["errors"][0]["extensions"]["code"] == "SUBGRAPH_FETCH_FAILED"


async def test_plan_cache_hits_skip_preparation(gw: Any) -> None:
    q = "{ topProducts { name } }"
    first = gw.prepare(q, None)
    assert gw.prepare(q, None) is first
    body = await run(gw, q, include_plan=True)
    assert body["extensions"]["queryPlan"]["text"].startswith("QueryPlan {")


async def test_fed1_join_v01_supergraph_of_the_same_subgraphs(scenario: Scenario) -> None:
    """A hand-written Federation 1 supergraph (@core, join v0.1, @join__owner) plans the same way."""
    from .harness import FIXTURES

    gw = scenario.gateway((FIXTURES / "fed1" / "supergraph-v0.1.graphql").read_text())
    body = await run(gw, "{ topProducts(first: 2) { upc name shippingEstimate inStock reviews { body author { "
                         "username name } } } }")
    assert body == {"data": {"topProducts": [
        {"upc": "1", "name": "Table", "shippingEstimate": 50, "inStock": True, "reviews": [
            {"body": "Love it!", "author": {"username": "@ada", "name": "Ada Lovelace"}},
            {"body": "Prefer something else.", "author": {"username": "@complete", "name": "Alan Turing"}},
        ]},
        {"upc": "2", "name": "Couch", "shippingEstimate": 0, "inStock": False, "reviews": [
            {"body": "Too expensive.", "author": {"username": "@ada", "name": "Ada Lovelace"}},
        ]},
    ]}}


async def test_subgraph_errors_are_repathed_to_the_client_path(gw: Any) -> None:
    body = await run(gw, "{ items: topProducts { name stock: warehouse } }")
    assert body["data"] == {"items": [{"name": "Table", "stock": "W1"}, {"name": "Couch", "stock": "W2"},
                                      {"name": "Chair", "stock": None}]}
    assert body["errors"] == [{
        "message": "warehouse unknown",
        "path": ["items", 2, "stock"],
        "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "inventory"},
    }]


@pytest.mark.parametrize(("flag", "expected"), [
    (True, {"price": 899, "shippingEstimate": 50}),
    (False, {"price": 899}),
])
async def test_include_on_a_field_from_another_subgraph(gw: Any, scenario: Scenario, flag: bool,
                                                        expected: dict[str, Any]) -> None:
    q = 'query($on: Boolean!) { product(upc: "1") { price shippingEstimate @include(if: $on) } }'
    body = await run(gw, q, {"on": flag})
    assert body == {"data": {"product": expected}}


def test_differently_written_operations_share_a_plan(gw: Any) -> None:
    a = gw.prepare("{ topProducts { name } }", None)
    b = gw.prepare("# the same\n{\n  topProducts {\n    name,\n  }\n}\n", None)
    assert a is b
    assert gw.prepare("{ topProducts { upc } }", None) is not a


async def test_bad_variables_are_request_errors(gw: Any, scenario: Scenario) -> None:
    scenario.reset()
    body = await run(gw, "query($upc: String!) { product(upc: $upc) { name } }", {"upc": 3})
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await run(gw, "query($upc: String!) { product(upc: $upc) { name } }", {})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await run(gw, "query A { me { name } } query B { me { name } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = await run(gw, "query A { me { name } }", operation_name="Z")
    assert body["errors"][0]["message"] == "Unknown operation named 'Z'."
    assert all(not app.requests for app in scenario.subgraphs.values())
    body = await run(gw, "query A { me { name } } query B { topProducts(first: 1) { upc } }", operation_name="B")
    assert body == {"data": {"topProducts": [{"upc": "1"}]}}
