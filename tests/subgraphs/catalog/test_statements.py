"""No N+1: listing or resolving more products costs the same number of SQL statements."""

from __future__ import annotations

from typing import Any

from subgraphs.common import demo
from tests.subgraphs.catalog.conftest import Catalog
from tests.support.postgres import rls_statements

LIST = """
query($first: Int) {
  products(first: $first, orderBy: {field: CREATED_AT}) {
    totalCount
    nodes { name tenant { id } category { name parent { name } productCount } }
  }
}
"""
ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Product { name sku category { name parent { name } } }
  }
}
"""


def cost(catalog: Catalog, query: str, variables: dict[str, Any], user: str | None) -> tuple[float, dict[str, Any]]:
    """SQL statements one request took, and its data."""
    before = catalog.statements()
    data = catalog.ok(query, variables, user=user)
    return catalog.statements() - before, data


def test_listing_products_with_categories_costs_the_same_for_5_or_36(catalog: Catalog, backend: str) -> None:
    small, data5 = cost(catalog, LIST, {"first": 5}, "acme-viewer")
    large, data36 = cost(catalog, LIST, {"first": 50}, "acme-viewer")
    assert len(data5["products"]["nodes"]) == 5
    assert len(data36["products"]["nodes"]) == 36
    assert data36["products"]["nodes"][0]["category"] == {
        "name": "Batteries",
        "parent": {"name": "Electronics"},
        "productCount": 12,
    }
    # count, page, categories (parents come from the same loader's cache), product counts; the RLS tenant
    assert small == large == 4 + rls_statements(backend)


def test_resolving_product_entities_costs_the_same_for_5_or_50(catalog: Catalog, backend: str) -> None:
    enabled = [p for p in demo.PRODUCTS if p.is_enabled]
    reps = [{"__typename": "Product", "id": p.id} for p in enabled]

    # No product is public: an anonymous caller resolves none, without a statement.
    anonymous, data50 = cost(catalog, ENTITIES, {"representations": reps[:50]}, None)
    assert data50["_entities"] == [None] * 50
    assert anonymous == 0

    acme = [{"__typename": "Product", "id": p.id} for p in demo.PRODUCTS if p.tenant_key == "acme"]
    small, _ = cost(catalog, ENTITIES, {"representations": acme[:5]}, "acme-viewer")
    large, data36 = cost(catalog, ENTITIES, {"representations": acme}, "acme-viewer")
    assert None not in data36["_entities"]
    assert small == large


DASHBOARD_ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Product { name sku category { id name } }
  }
}
"""


def test_products_with_their_categories_through_entities_cost_one_statement(catalog: Catalog, backend: str) -> None:
    # The dashboard's catalog fetch: each product's category comes with it (one join), none is asked for again.
    acme = [p for p in demo.PRODUCTS if p.tenant_key == "acme"]
    categories = {c.key: c for c in demo.CATEGORIES}
    for products in (acme[:5], acme):
        reps = [{"__typename": "Product", "id": p.id} for p in products]
        statements, data = cost(catalog, DASHBOARD_ENTITIES, {"representations": reps}, "acme-viewer")
        assert statements == 1 + rls_statements(backend)
        assert data["_entities"] == [
            {
                "name": p.name,
                "sku": p.sku,
                "category": {"id": categories[p.category_key].id, "name": categories[p.category_key].name},
            }
            for p in products
        ]
    # Another tenant's products and unknown ids stay null; the caller's own still come with their categories.
    lounge = next(p for p in demo.PRODUCTS if p.tenant_key != "acme")
    reps = [{"__typename": "Product", "id": i} for i in (acme[0].id, lounge.id, "no-such-product", acme[1].id)]
    statements, data = cost(catalog, DASHBOARD_ENTITIES, {"representations": reps}, "acme-viewer")
    assert statements == 1 + rls_statements(backend)
    assert [e and e["name"] for e in data["_entities"]] == [acme[0].name, None, None, acme[1].name]
