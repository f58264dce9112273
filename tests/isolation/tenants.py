"""Who attacks whom: tenant A (GreenLoop's Admin) reaches for tenant B's (Acme's) objects.

Acme is the victim because its seed has every kind of object: passports in every status, a
product of every kind, members of every role. B's objects and the strings that would betray
them (:data:`SECRETS`) come from the demo data set (:mod:`subgraphs.common.demo`).
"""

from __future__ import annotations

import json
from typing import Any

from subgraphs.common import demo

A = demo.tenant("greenloop")
B = demo.tenant("acme")
A_ADMIN = "greenloop-admin"
B_ADMIN = "acme-admin"
# Callers acting in A: its Admin, and the consultant (GreenLoop Manager, also Acme Viewer) signed in to A.
ATTACKERS: dict[str, tuple[str, str | None, frozenset[str]]] = {
    "A-admin": (A_ADMIN, None, frozenset()),
    "A-consultant": ("consultant", A.key, frozenset({B.id})),
}

B_PRODUCTS = tuple(p for p in demo.PRODUCTS if p.tenant_key == B.key)
B_PASSPORTS = tuple(p for p in demo.PASSPORTS if p.tenant_key == B.key)
B_PRODUCT = B_PRODUCTS[0]  # Cell Pack 01: has a published passport
B_PRODUCT_FREE = next(p for p in B_PRODUCTS if p.index == 18)  # a battery without passport
B_PUBLISHED = next(p for p in B_PASSPORTS if p.status == "PUBLISHED")
B_DRAFT = next(p for p in B_PASSPORTS if p.status == "DRAFT" and p.values)
B_REVOKED = next(p for p in B_PASSPORTS if p.status == "REVOKED")
B_ARCHIVED = next(p for p in B_PASSPORTS if p.status == "ARCHIVED")
# Members of B only (the consultant belongs to both tenants and is A's to see).
B_USERS = tuple(u for u in demo.USERS if {t for t, _ in u.memberships} == {B.key})
B_VIEWER = next(u for u in B_USERS if u.key == "acme-viewer")
B_MEMBER_IDS = frozenset(u.id for u in demo.USERS if B.key in {t for t, _ in u.memberships})
B_ONLY_TEMPLATE = demo.template("product-dpp")  # enabled by Acme, not by GreenLoop
BATTERIES = next(c for c in demo.CATEGORIES if c.key == "batteries")
TEXTILES = next(c for c in demo.CATEGORIES if c.key == "textiles")


def _secrets() -> frozenset[str]:
    found: set[str] = set()
    for p in B_PRODUCTS:
        found |= {p.id, p.name, p.sku}
    for pp in B_PASSPORTS:
        found |= {pp.id, pp.name, pp.public_uuid}
    for u in B_USERS:
        found |= {u.id, u.email, u.name}
    found |= {"ACM-CP-", "acme.example/sds/"}
    return frozenset(found)


#: Strings that appear in a response only when something of tenant B's came back.
SECRETS = _secrets()

#: Values of B's published passport that only RESTRICTED / CONFIDENTIAL readers may see.
NON_PUBLIC_VALUES = tuple(
    json.dumps(value)
    for key, value in B_PUBLISHED.values
    if next(f for f in demo.PRODUCT_DPP_FIELDS if f.key == key).access != "PUBLIC"
)


def leaked(body: Any, allowed: frozenset[str] = frozenset()) -> list[str]:
    """B's strings found in ``body`` (less ``allowed``: the values a case sent itself)."""
    text = json.dumps(body)
    return sorted(s for s in SECRETS - allowed if s in text)
