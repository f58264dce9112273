"""The catalog's declared authorization, enforced by the subgraph itself (called directly, no gateway):
@authenticated reads, catalog:write on changes, the catalog:feature policy, denied changes audited,
and ``_entities`` that answers no product to anonymous callers and none of another tenant's."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from subgraphs.catalog.models import AuditEntry
from subgraphs.common import demo
from subgraphs.common.db import Database
from tests.subgraphs.catalog.conftest import Catalog, category_id, product_id
from tests.support.identity import IdentityIssuer
from tests.support.subgraphs import running_subgraph


@pytest.fixture
def served(database_url_factory, issuer: IdentityIssuer) -> Iterator[tuple[Catalog, str]]:
    """A seeded catalog server trusting the session's identity issuer, and its database URL (for the audit)."""
    url = database_url_factory("catalog")
    with running_subgraph("catalog", url, **issuer.overrides()) as server:
        yield Catalog(server.url, issuer), url


def audit(url: str) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """``(action, result, object id, tenant id, user id)`` of every audit row, oldest first."""

    async def read() -> list[tuple[str, str, str | None, str | None, str | None]]:
        database = Database(url)
        try:
            async with database.system_session() as session:
                rows = (await session.exec(select(AuditEntry).order_by(AuditEntry.created_at))).all()
                return [(r.action, r.result, r.object_id, r.tenant_id, r.user_id) for r in rows]
        finally:
            await database.dispose()

    return asyncio.run(read())


def user_id(key: str) -> str:
    return next(u for u in demo.USERS if u.key == key).id


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


CREATE = """mutation($input: ProductInput!) { createProduct(input: $input) { id name } }"""
FEATURE = """mutation($id: ID!) { featureProduct(id: $id, featured: true) { isFeatured } }"""
ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Product { id name sku }
  ... on Category { id name }
} }"""


def new_product(name: str) -> dict[str, Any]:
    return {"input": {"name": name, "sku": name.upper().replace(" ", "-"), "categoryId": category_id("batteries")}}


def test_private_reads_need_a_signed_in_caller_and_the_taxonomy_stays_open(served: tuple[Catalog, str]) -> None:
    catalog, _ = served
    for query in (
        "{ products { totalCount } }",
        '{ product(id: "' + product_id("acme", 0) + '") { name } }',
        "{ catalogAuditLog { totalCount } }",
    ):
        body = catalog.query(query)
        assert codes(body) == ["UNAUTHENTICATED"], body
        assert body["errors"][0]["message"] == "Sign in to do this"
    categories = catalog.ok("{ categories { name productCount } }")["categories"]
    assert len(categories) == len(demo.CATEGORIES) and {c["productCount"] for c in categories} == {0}
    assert catalog.ok("{ products { totalCount } }", user="acme-viewer")["products"]["totalCount"] == 36


def test_changes_need_the_catalog_write_scope_and_denials_are_audited(served: tuple[Catalog, str]) -> None:
    catalog, url = served
    anonymous = catalog.query(CREATE, new_product("Anon Pack"))
    assert (codes(anonymous), anonymous["data"]) == (["UNAUTHENTICATED"], None)
    viewer = catalog.query(CREATE, new_product("Viewer Pack"), user="acme-viewer")
    assert codes(viewer) == ["FORBIDDEN"]
    assert viewer["errors"][0]["message"] == "This needs the catalog:write scope"
    assert viewer["errors"][0]["extensions"]["requires"] == [["catalog:write"]]
    deleted = catalog.query(
        "mutation($id: ID!) { deleteProduct(id: $id, expectedVersion: 1) }",
        {"id": product_id("acme", 1)},
        user="acme-viewer",
    )
    assert codes(deleted) == ["FORBIDDEN"]
    manager = catalog.ok(CREATE, new_product("Manager Pack"), user="acme-manager")["createProduct"]
    admin = catalog.ok(CREATE, new_product("Admin Pack"), user="acme-admin")["createProduct"]

    acme = demo.tenant("acme").id
    assert audit(url) == [
        ("createProduct", "UNAUTHENTICATED", None, None, None),
        ("createProduct", "FORBIDDEN", None, acme, user_id("acme-viewer")),
        ("deleteProduct", "FORBIDDEN", product_id("acme", 1), acme, user_id("acme-viewer")),
        ("createProduct", "OK", manager["id"], acme, user_id("acme-manager")),
        ("createProduct", "OK", admin["id"], acme, user_id("acme-admin")),
    ]


def test_featuring_needs_the_catalog_feature_policy(served: tuple[Catalog, str]) -> None:
    catalog, url = served
    target = {"id": product_id("acme", 10)}
    manager = catalog.query(FEATURE, target, user="acme-manager")
    assert codes(manager) == ["FORBIDDEN"]
    assert manager["errors"][0]["message"] == "This needs the catalog:feature permission in the active tenant"
    assert codes(catalog.query(FEATURE, target, user="acme-viewer")) == ["FORBIDDEN"]
    assert codes(catalog.query(FEATURE, target)) == ["UNAUTHENTICATED"]
    assert catalog.ok(FEATURE, target, user="acme-admin") == {"featureProduct": {"isFeatured": True}}
    results = [(action, result) for action, result, *_ in audit(url)]
    assert results == [
        ("featureProduct", "FORBIDDEN"),
        ("featureProduct", "FORBIDDEN"),
        ("featureProduct", "UNAUTHENTICATED"),
        ("featureProduct", "OK"),
    ]


def test_anonymous_entities_resolve_no_product_but_categories(served: tuple[Catalog, str]) -> None:
    catalog, _ = served
    reps = [
        {"__typename": "Product", "id": product_id("acme", 0)},
        {"__typename": "Product", "id": product_id("greenloop", 0)},
        {"__typename": "Product", "id": product_id("greenloop", 23)},  # disabled
        {"__typename": "Category", "id": category_id("batteries")},
        {"__typename": "Category", "id": category_id("toys")},  # inactive, still part of the public taxonomy
    ]
    body = catalog.query(ENTITIES, {"r": reps})
    assert "errors" not in body, body
    assert body["data"]["_entities"] == [
        None,
        None,
        None,
        {"id": category_id("batteries"), "name": "Batteries"},
        {"id": category_id("toys"), "name": "Toys"},
    ]


def test_entities_of_another_tenant_resolve_to_null(served: tuple[Catalog, str]) -> None:
    catalog, _ = served
    reps = [
        {"__typename": "Product", "id": product_id("acme", 0)},
        {"__typename": "Product", "id": product_id("greenloop", 0)},
    ]
    for user, visible in (("acme-viewer", 0), ("greenloop-admin", 1)):
        data = catalog.ok(ENTITIES, {"r": reps}, user=user)["_entities"]
        assert [e is not None for e in data] == [i == visible for i in range(2)]
        assert data[visible]["id"] == reps[visible]["id"]
