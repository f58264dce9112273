"""Re-entering an entity by a composite key for a value-type field only another subgraph resolves (issue 8).

Scenario ``compositekey``: ``a`` serves the root fields and knows ``Product`` by ``id``, with the
@shareable value type ``Category`` (``title``); ``b`` knows ``Product`` only by ``id pid`` and
resolves ``Category.details``; ``c`` knows ``Product`` by ``id`` and resolves ``pid``. Reaching
``Category.details`` from ``a`` means fetching ``pid`` from ``c`` and re-entering the product in
``b``. Through a union member or an interface fragment this was refused with
QUERY_PLANNING_FAILED ("cannot plan Category.details from subgraph 'a': no other subgraph
resolves it by a key"): the walk forgot the entity to go back to below a fragment.

``fixtures/compositekey/reference.json`` holds Apollo Gateway 2.14.4's answers to ``QUERIES``
over these subgraphs; ``python -m tests.gateway_core.test_compositekey`` writes it again
(needs ``make bench``'s bench/node_modules).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .harness import FIXTURES, Scenario, SubgraphServer, run, start_scenario

REFERENCE = FIXTURES / "compositekey" / "reference.json"

PRODUCTS: dict[str, dict[str, Any]] = {
    "p1": {"id": "p1", "pid": "x1", "name": "Chair", "price": 40, "category": {"id": "c1", "title": "Furniture"}},
    "p2": {"id": "p2", "pid": "x2", "name": "Lamp", "price": 25, "category": None},
    "p3": {"id": "p3", "pid": "x3", "name": "Desk", "price": 90, "category": {"id": "c1", "title": "Furniture"}},
}
ARTICLES = {"a1": {"__typename": "Article", "id": "a1", "headline": "New chairs"}}


def _product_a(p: dict[str, Any]) -> dict[str, Any]:
    return {"__typename": "Product", "id": p["id"], "name": p["name"], "category": p["category"]}


def _product_b(rep: dict[str, Any]) -> dict[str, Any] | None:
    p = PRODUCTS.get(rep["id"])
    if p is None or p["pid"] != rep["pid"]:  # the whole composite key must be right
        return None
    cat = p["category"]
    category = None if cat is None else {"id": cat["id"], "details": f"{cat['id']} details for {p['pid']}"}
    return {"id": p["id"], "pid": p["pid"], "category": category}


RESOLVERS: dict[str, dict[str, Any]] = {
    "a": {
        "fields": {
            "Query.products": lambda _s: [_product_a(p) for p in PRODUCTS.values()],
            "Query.search": lambda _s: [_product_a(PRODUCTS["p1"]), ARTICLES["a1"], _product_a(PRODUCTS["p2"])],
            "Query.node": lambda _s, args: (_product_a(PRODUCTS[args["id"]]) if args["id"] in PRODUCTS
                                            else ARTICLES.get(args["id"])),
        },
        "entities": {"Product": lambda rep: _product_a(PRODUCTS[rep["id"]])},
    },
    "b": {"entities": {"Product": _product_b}},
    "c": {"entities": {"Product": lambda rep: {k: PRODUCTS[rep["id"]][k] for k in ("id", "pid", "price")}}},
}

QUERIES = [
    "{ search { ... on Product { id name category { title details } } ... on Article { headline } } }",
    '{ node(id: "p1") { id ... on Product { category { details } } } }',
    '{ node(id: "a1") { id ... on Product { category { details } } } }',
    "{ search { ... on Node { id ... on Product { category { details } } } } }",
    "{ products { name price category { id details } } }",
]


@pytest.fixture(scope="module")
def scenario(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "compositekey", RESOLVERS)


def test_reference_covers_every_query() -> None:
    assert sorted(json.loads(REFERENCE.read_text())) == sorted(QUERIES)


@pytest.mark.parametrize("query", QUERIES)
async def test_answer_matches_apollo_gateway(scenario: Scenario, query: str) -> None:
    body = await run(scenario.gateway(), query)
    expected = json.loads(REFERENCE.read_text())[query]
    assert json.dumps(body) == json.dumps(expected)  # response key order too


async def test_composite_key_is_fetched_first_and_the_product_re_entered(scenario: Scenario) -> None:
    scenario.reset()
    body = await run(scenario.gateway(), QUERIES[1])
    assert body == {"data": {"node": {"id": "p1", "category": {"details": "c1 details for x1"}}}}
    [c_request] = scenario.subgraphs["c"].requests
    assert c_request["variables"]["representations"] == [{"__typename": "Product", "id": "p1"}]
    [b_request] = scenario.subgraphs["b"].requests
    assert b_request["variables"]["representations"] == [{"__typename": "Product", "id": "p1", "pid": "x1"}]


def write_reference() -> None:
    """Ask Apollo Gateway for the answers to ``QUERIES`` and write ``reference.json``."""
    from .apollo import ApolloGateway

    server = SubgraphServer().start()
    try:
        sc = start_scenario(server, "compositekey", RESOLVERS)
        urls = {n: server.url(f"compositekey/{n}") for n in sc.subgraphs}
        with ApolloGateway(sc.supergraph_sdl(), urls) as apollo:
            answers = {q: apollo.query(q) for q in QUERIES}
    finally:
        server.stop()
    REFERENCE.write_text(json.dumps(answers, indent=2) + "\n")


if __name__ == "__main__":
    write_reference()
