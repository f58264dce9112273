"""What "no leak" means for any answer tenant A (or an anonymous caller) gets, checked against the database.

:func:`assert_no_leak` runs on every response of the suite:

* none of tenant B's strings (:data:`tests.isolation.tenants.SECRETS`) comes back, except what the
  case sent itself or declared public;
* every number a tenant-relative field shows is the caller's own, counted in the database past
  every filter: ``Category.productCount`` (products of the caller's tenant in the category),
  ``Template.passportCount`` / ``Product.passportCount`` (the caller's passports),
  ``Template.enabledForMyTenant`` (the caller's enablements);
* a tenant other than the caller's shows only its public fields (name, domain, type): ``status``,
  ``tenantClass``, ``createdAt``, ``parent`` are null and ``roles`` empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.isolation.stack import Stack
from tests.isolation.tenants import leaked

PRIVATE_TENANT_FIELDS = ("status", "tenantClass", "createdAt", "parent")


def objects(tree: Any, typename: str) -> Iterator[dict[str, Any]]:
    """Every object of ``__typename`` in a JSON tree."""
    if isinstance(tree, dict):
        if tree.get("__typename") == typename:
            yield tree
        for value in tree.values():
            yield from objects(value, typename)
    elif isinstance(tree, list):
        for item in tree:
            yield from objects(item, typename)


def codes(body: dict[str, Any]) -> list[str]:
    """``extensions.code`` of every error of ``body``."""
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or ()]


def assert_no_leak(
    stack: Stack,
    body: dict[str, Any],
    tenant_id: str | None,
    allowed: frozenset[str] = frozenset(),
    member_of: frozenset[str] = frozenset(),
) -> None:
    """The checks of the module docstring, for a caller acting in ``tenant_id`` (None: anonymous).

    ``member_of``: further tenants the caller belongs to (their details are the caller's to see).
    """
    found = leaked(body, allowed)
    assert not found, f"tenant B's data came back: {found}\n{str(body)[:2000]}"
    data = body.get("data")
    db = stack.databases
    for category in objects(data, "Category"):
        if category.get("productCount") is not None:
            expected = db.count("catalog", "catalog_products", tenant_id, "category_id = ?", (category["id"],))
            assert category["productCount"] == expected, (
                f"Category {category['id']} productCount {category} vs {expected}"
            )
    templates = list(objects(data, "Template"))
    enablements = "SELECT lineage_id FROM templates_enablements WHERE tenant_id = ?"
    enabled = {r[0] for r in db.query("templates", enablements, (tenant_id,))} if templates else set()
    for template in templates:
        if template.get("passportCount") is not None:
            expected = db.count("passport", "passport_passports", tenant_id, "template_id = ?", (template["id"],))
            assert template["passportCount"] == expected, f"Template {template['id']} passportCount vs {expected}"
        if template.get("enabledForMyTenant") is not None and template.get("lineageId") is not None:
            assert template["enabledForMyTenant"] == (template["lineageId"] in enabled), template
    for product in objects(data, "Product"):
        if product.get("passportCount") is not None:
            expected = db.count("passport", "passport_passports", tenant_id, "product_id = ?", (product["id"],))
            assert product["passportCount"] == expected, f"Product {product['id']} passportCount vs {expected}"
        if product.get("passports"):
            assert product["passportCount"] is None or len(product["passports"]) == product["passportCount"]
    for tenant in objects(data, "Tenant"):
        if tenant.get("id") != tenant_id and tenant.get("id") not in member_of:
            shown = {k: tenant[k] for k in PRIVATE_TENANT_FIELDS if tenant.get(k) is not None}
            assert not shown, f"tenant {tenant.get('id')} shows {shown} to a non-member"
            assert not tenant.get("roles"), f"tenant {tenant.get('id')} lists its roles to a non-member"


def root_value(body: dict[str, Any], field: str) -> Any:
    """``data[field]`` (None when data is null)."""
    return (body.get("data") or {}).get(field)


def strings(value: object) -> frozenset[str]:
    """Every string or number in a variables tree (what a case sent, which may be echoed back)."""
    if isinstance(value, dict):
        return frozenset().union(*(strings(v) for v in value.values())) if value else frozenset()
    if isinstance(value, list):
        return frozenset().union(*(strings(v) for v in value)) if value else frozenset()
    return frozenset({str(value)})
