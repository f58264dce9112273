"""Catalog limits and uniqueness under real parallel requests, on SQLite and PostgreSQL.

Each test fires its mutations from threads at a served catalog at the same time;
the database must end up within the rule, and every loser gets a CONFLICT.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.subgraphs.catalog.conftest import Catalog, category_id, product_id
from tests.support.client import gql

CREATE = "mutation($input: ProductInput!) { createProduct(input: $input) { id name } }"
FEATURE = "mutation($id: ID!) { featureProduct(id: $id, featured: true) { id isFeatured } }"
COUNT = "query($filter: ProductFilter) { products(filter: $filter) { totalCount } }"


def _parallel(catalog: Catalog, user: str, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    token = catalog.issuer.token_for(user)
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(gql, catalog.url, query, variables, token=token) for query, variables in calls]
        return [future.result() for future in futures]


def _codes(bodies: list[dict[str, Any]]) -> Counter[str]:
    codes: Counter[str] = Counter()
    for body in bodies:
        errors = body.get("errors") or []
        codes["OK" if not errors else errors[0].get("extensions", {}).get("code", "NO CODE")] += 1
    return codes


def _messages(bodies: list[dict[str, Any]]) -> set[str]:
    return {error["message"] for body in bodies for error in body.get("errors") or []}


def test_twenty_parallel_creates_fill_a_category_with_room_for_five(catalog: Catalog) -> None:
    appliances = category_id("appliances")  # maxProducts 5; acme has none there yet
    calls = [
        (CREATE, {"input": {"name": f"Kettle {i:02d}", "sku": f"KET-{i:02d}", "categoryId": appliances}})
        for i in range(20)
    ]
    bodies = _parallel(catalog, "acme-manager", calls)
    assert _codes(bodies) == {"OK": 5, "CONFLICT": 15}, bodies
    assert _messages(bodies) == {"category 'Small Appliances' is full: it allows 5 products per tenant"}
    stored = catalog.ok(COUNT, {"filter": {"categoryId": appliances}}, user="acme-viewer")
    assert stored["products"]["totalCount"] == 5


def test_ten_parallel_features_from_nine_stop_at_ten(catalog: Catalog) -> None:
    for index in range(4, 9):  # acme has 0-3 featured: now nine
        catalog.ok(FEATURE, {"id": product_id("acme", index)}, user="acme-admin")
    assert catalog.ok(COUNT, {"filter": {"isFeatured": True}}, user="acme-viewer")["products"]["totalCount"] == 9
    calls = [(FEATURE, {"id": product_id("acme", index)}) for index in range(10, 20)]
    bodies = _parallel(catalog, "acme-admin", calls)
    assert _codes(bodies) == {"OK": 1, "CONFLICT": 9}, bodies
    featured = catalog.ok(COUNT, {"filter": {"isFeatured": True}}, user="acme-viewer")["products"]["totalCount"]
    assert featured == 10


def test_twenty_parallel_creates_of_one_name_store_one_and_conflict_nineteen(catalog: Catalog) -> None:
    batteries = category_id("batteries")
    calls = [
        (CREATE, {"input": {"name": "Twin Cell", "sku": f"TWIN-{i:02d}", "categoryId": batteries}}) for i in range(20)
    ]
    bodies = _parallel(catalog, "acme-manager", calls)
    assert _codes(bodies) == {"OK": 1, "CONFLICT": 19}, bodies
    assert _messages(bodies) == {"name 'Twin Cell' already exists in category 'Batteries'"}
    stored = catalog.ok(COUNT, {"filter": {"search": "Twin Cell"}}, user="acme-viewer")
    assert stored["products"]["totalCount"] == 1
