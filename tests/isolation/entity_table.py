"""The table of entities: for every entity type of every subgraph (owner or extension), B's keys and
what A (or an anonymous caller) may get back through ``_entities`` on that subgraph directly.

``test_coverage`` fails when a subgraph's SDL has an entity type (``@key``) without a rule here, or
a key without representations.

Rules:
  HIDDEN  the entity resolves to null (B's tenant-owned object does not exist for A);
  VIEW    the entity resolves, showing only public data and the caller's own numbers: B's strings
          never come back, ``productCount`` / ``passportCount`` / ``enabledForMyTenant`` are the
          caller's, a foreign tenant shows its public face (checks.assert_no_leak).
"""

from __future__ import annotations

from typing import Any

from subgraphs.common import demo
from tests.isolation import tenants as t

HIDDEN = "HIDDEN"
VIEW = "VIEW"

RULES: dict[tuple[str, str], str] = {
    ("identity", "Tenant"): VIEW,  # name, domain, type are public; status, class, parent, roles are not
    ("identity", "User"): HIDDEN,
    ("catalog", "Category"): VIEW,  # platform-wide taxonomy; productCount is the caller's
    ("catalog", "Product"): HIDDEN,
    ("catalog", "Tenant"): VIEW,  # a reference only (id)
    ("templates", "Category"): VIEW,  # templates of the category: platform-wide
    ("templates", "Template"): VIEW,  # published templates are public; enabledForMyTenant is the caller's
    ("templates", "TemplateField"): VIEW,
    ("passport", "Passport"): HIDDEN,
    ("passport", "Product"): VIEW,  # the caller's passports of B's product: none
    ("passport", "Template"): VIEW,  # passportCount: the caller's
    ("passport", "Tenant"): VIEW,  # a reference only (id)
    ("passport", "User"): VIEW,  # a reference only (id)
}


def _passports_by_id() -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((f"{p.name} ({p.status.lower()})", {"id": p.id}) for p in t.B_PASSPORTS)


#: (type, key fields) -> labelled representations of tenant B's objects (without __typename).
REPRESENTATIONS: dict[tuple[str, str], tuple[tuple[str, dict[str, Any]], ...]] = {
    ("Tenant", "id"): (("B", {"id": t.B.id}),),
    ("User", "id"): ((f"B's {u.key}", {"id": u.id}) for u in t.B_USERS),  # type: ignore[dict-item]
    ("Category", "id"): (("batteries (B's products)", {"id": t.BATTERIES.id}),),
    ("Product", "id"): (
        ("B's product with passport", {"id": t.B_PRODUCT.id}),
        ("B's product without passport", {"id": t.B_PRODUCT_FREE.id}),
    ),
    ("Template", "id"): (("enabled by B only", {"id": t.B_ONLY_TEMPLATE.id}),),
    ("TemplateField", "id"): (
        ("confidential field of B's template", {"id": demo.PRODUCT_DPP_FIELDS[-1].id_for(t.B_ONLY_TEMPLATE.key)}),
    ),
    ("Passport", "id"): _passports_by_id(),
    ("Passport", "uuid"): (
        ("B's published", {"uuid": t.B_PUBLISHED.public_uuid}),
        ("B's draft", {"uuid": t.B_DRAFT.public_uuid}),
    ),
}
REPRESENTATIONS = {k: tuple(v) for k, v in REPRESENTATIONS.items()}
