"""Rules that count or compare rows count and compare the caller's tenant's rows only: otherwise B's
data would show through A's errors (a CONFLICT naming B's sku, a category full of B's products).

Tenant A's Admin, through the gateway; B's rows are unchanged afterwards.
"""

from __future__ import annotations

from subgraphs.common import demo
from tests.isolation.checks import assert_no_leak, strings
from tests.isolation.stack import Stack
from tests.isolation.tenants import A_ADMIN, B_MEMBER_IDS, B_PASSPORTS, B_PRODUCT, BATTERIES, A, B

CREATE_PRODUCT = "mutation($i: ProductInput!) { createProduct(input: $i) { id name sku tenant { id } } }"
FEATURE = "mutation($id: ID!) { featureProduct(id: $id) { id isFeatured } }"
CREATE_PASSPORT = "mutation($i: CreatePassportInput!) { createPassport(input: $i) { id name tenant { id } } }"


def _ok(stack: Stack, body: dict, field: str, sent: dict) -> dict:
    assert "errors" not in body, f"{field}: {body}"
    assert_no_leak(stack, body, A.id, strings(sent))
    value = body["data"][field]
    if "tenant" in value:
        assert value["tenant"]["id"] == A.id, value
    return dict(value)


def test_names_and_skus_are_unique_per_tenant_only(stack: Stack) -> None:
    """A may use B's product name and sku and B's passport name: no CONFLICT tells A they exist."""
    before = stack.databases.snapshot(B.id, B_MEMBER_IDS)
    token = stack.token(A_ADMIN)
    product = {"name": B_PRODUCT.name, "sku": B_PRODUCT.sku, "categoryId": BATTERIES.id}
    created = _ok(stack, stack.gql("gateway", CREATE_PRODUCT, {"i": product}, token), "createProduct", product)
    assert (created["name"], created["sku"]) == (B_PRODUCT.name, B_PRODUCT.sku)
    own = next(p for p in demo.PRODUCTS if p.tenant_key == A.key and p.category_key == "textiles" and p.index == 6)
    passport = {"name": B_PASSPORTS[0].name, "productId": own.id, "templateId": demo.template("supply-chain-dpp").id}
    body = stack.gql("gateway", CREATE_PASSPORT, {"i": passport}, token)
    assert _ok(stack, body, "createPassport", passport)["name"] == B_PASSPORTS[0].name
    assert stack.databases.snapshot(B.id, B_MEMBER_IDS) == before


def test_limits_count_the_callers_rows_only(stack: Stack) -> None:
    """Furniture keeps 25 products per tenant (A 12, B 12: two more for A even if B's counted would
    overflow); 10 featured per tenant (A 2, B 4: eight more for A)."""
    furniture = next(c for c in demo.CATEGORIES if c.key == "furniture")
    assert furniture.max_products == 25
    token = stack.token(A_ADMIN)
    mine = stack.databases.count("catalog", "catalog_products", A.id, "category_id = ?", (furniture.id,))
    theirs = stack.databases.count("catalog", "catalog_products", B.id, "category_id = ?", (furniture.id,))
    extra = 25 - theirs - mine + 1  # enough that counting B's rows too would overflow
    assert 0 < extra <= 25 - mine, (mine, theirs)
    for n in range(extra):
        product = {"name": f"Iso Stool {n:02d}", "sku": f"ISO-STL-{n:02d}", "categoryId": furniture.id}
        _ok(stack, stack.gql("gateway", CREATE_PRODUCT, {"i": product}, token), "createProduct", product)
    featured = stack.databases.count("catalog", "catalog_products", A.id, "is_featured")
    featured_b = stack.databases.count("catalog", "catalog_products", B.id, "is_featured")
    rows = stack.databases.query(
        "catalog", "SELECT id FROM catalog_products WHERE tenant_id = ? AND NOT is_featured ORDER BY id", (A.id,)
    )
    to_feature = 10 - featured_b - featured + 1
    assert 0 < to_feature <= 10 - featured
    for (product_id,) in rows[:to_feature]:
        body = stack.gql("gateway", FEATURE, {"id": product_id}, token)
        assert "errors" not in body, body
