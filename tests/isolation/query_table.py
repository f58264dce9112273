"""The table of root queries: how tenant A calls each with tenant B's ids, and what it must get.

Every root ``Query`` field of ``schema/supergraph.graphql`` needs at least one entry here
(``test_coverage`` fails naming the field otherwise). The selection is not listed: the suite
selects every field of the result type (``schema_model.selection``), from the supergraph
through the gateway and from the owning subgraph's SDL when the subgraph is called directly.

``expect``:
  NOT_FOUND  the field answers null with a NOT_FOUND error (B's object does not exist for A);
  OWN        whatever comes back is A's or public (no B string, tenant-relative numbers are A's);
  and every case also passes :func:`tests.isolation.checks.assert_no_leak`.
``count``: (subgraph, table) whose rows of tenant A ``totalCount`` must equal (B, asking the same,
must see its own count: the database count is the right measure).
``public``: B strings that may come back because they are public (e.g. a published passport's name).
``audit``: A's audit trail, where A's failed attempts on B's ids (test_mutations) are recorded with
those ids; anything else of B's (a name, a value in before/after) is still a leak.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from subgraphs.common import demo
from tests.isolation import tenants as t

NOT_FOUND = "NOT_FOUND"
OWN = "OWN"


@dataclass(frozen=True, slots=True)
class QueryCase:
    field: str
    label: str
    expect: str
    params: str = ""
    args: str = ""
    variables: dict[str, Any] = dataclasses.field(default_factory=dict)
    count: tuple[str, str] | None = None
    where: tuple[str, tuple[str, ...]] = ("", ())  # a condition on the counted rows (the filter's)
    public: frozenset[str] = frozenset()
    # An audit trail of A's: it records A's own attempts on B's objects, with the ids A sent then.
    audit: bool = False
    # Answers by the caller's memberships, not the active tenant (``tenant(id)``): a member of B may read it.
    by_membership: bool = False

    @property
    def id(self) -> str:
        return f"{self.field}[{self.label}]"

    def sent(self) -> frozenset[str]:
        """The strings this case sends (B's ids it names may be echoed back in errors)."""
        return frozenset(str(v) for v in self.variables.values())


def _by_id(field_name: str, label: str, value: str, *, arg: str = "id", gql_type: str = "ID!") -> QueryCase:
    return QueryCase(field_name, label, NOT_FOUND, f"(${arg}: {gql_type})", f"({arg}: ${arg})", {arg: value})


def _published_public() -> frozenset[str]:
    # What publicPassport shows of B's published passport to anyone: its uuid, name and PUBLIC values
    # (the QR code's page; the model number carries B's "ACM-CP-" prefix), and the NAME of its product,
    # stored with the version at publish time (PublicProduct: name and the global category's name).
    # Nothing else of the product: not its id, not its sku (both stay in SECRETS and would be flagged).
    product = next(p for p in t.B_PRODUCTS if p.id == t.B_PUBLISHED.product_id)
    return frozenset({t.B_PUBLISHED.public_uuid, t.B_PUBLISHED.name, "ACM-CP-", product.name})


QUERIES: tuple[QueryCase, ...] = (
    # identity
    QueryCase("policies", "own tenant's grants", OWN),
    QueryCase("knownPolicies", "catalogue", OWN),
    QueryCase("me", "own memberships", OWN),
    dataclasses.replace(_by_id("tenant", "B's tenant", t.B.id), by_membership=True),
    QueryCase("tenants", "platform list", OWN),
    QueryCase("users", "members", OWN, count=("identity", "identity_memberships")),
    QueryCase("identityAuditLog", "audit", OWN, count=("identity", "identity_audit_log"), audit=True),
    # catalog
    QueryCase("categories", "taxonomy with counts", OWN),
    QueryCase("category", "B's category, A's count", OWN, "($id: ID!)", "(id: $id)", {"id": t.BATTERIES.id}),
    _by_id("product", "B's product", t.B_PRODUCT.id),
    _by_id("product", "B's product without passport", t.B_PRODUCT_FREE.id),
    QueryCase("products", "all", OWN, count=("catalog", "catalog_products")),
    QueryCase(
        "products",
        "filtered by B's category",
        OWN,
        "($c: ID!)",
        "(filter: {categoryId: $c}, first: 100)",
        {"c": t.BATTERIES.id},
        count=("catalog", "catalog_products"),
        where=("category_id = ?", (t.BATTERIES.id,)),
    ),
    QueryCase("products", "searched by B's sku", OWN, "($s: String!)", "(filter: {search: $s})", {"s": "ACM-BAT"}),
    QueryCase("catalogAuditLog", "audit", OWN, count=("catalog", "catalog_audit_log"), audit=True),
    QueryCase("catalogAuditLog", "B's product", OWN, "($o: ID!)", "(objectId: $o)", {"o": t.B_PRODUCT.id}, audit=True),
    # templates (platform-wide definitions; tenant-owned: enablements)
    QueryCase("template", "B-enabled template", OWN, "($id: ID!)", "(id: $id)", {"id": t.B_ONLY_TEMPLATE.id}),
    QueryCase("templates", "all", OWN),
    QueryCase("templates", "enabled only", OWN, args="(enabledOnly: true)"),
    QueryCase(
        "templateField",
        "a field of B's template",
        OWN,
        "($id: ID!)",
        "(id: $id)",
        {"id": demo.PRODUCT_DPP_FIELDS[-1].id_for(t.B_ONLY_TEMPLATE.key)},
    ),
    QueryCase("templateFields", "library", OWN),
    QueryCase("templateAuditLog", "audit", OWN, count=("templates", "templates_audit_log"), audit=True),
    # passport
    *(_by_id("passport", f"B's {p.status.lower()} {p.name}", p.id) for p in t.B_PASSPORTS),
    QueryCase("passports", "all", OWN, count=("passport", "passport_passports")),
    QueryCase(
        "passports",
        "filtered by B's product",
        OWN,
        "($p: ID!)",
        "(filter: {productId: $p})",
        {"p": t.B_PRODUCT.id},
        count=("passport", "passport_passports"),
        where=("product_id = ?", (t.B_PRODUCT.id,)),
    ),
    QueryCase(
        "passports",
        "filtered by B's template",
        OWN,
        "($t: ID!)",
        "(filter: {templateId: $t})",
        {"t": t.B_ONLY_TEMPLATE.id},
        count=("passport", "passport_passports"),
        where=("template_id = ?", (t.B_ONLY_TEMPLATE.id,)),
    ),
    QueryCase("passports", "by B's name", OWN, "($n: String!)", "(filter: {nameContains: $n})", {"n": "ACME"}),
    QueryCase(
        "publicPassport",
        "B's published (public view)",
        OWN,
        "($u: String!)",
        "(uuid: $u)",
        {"u": t.B_PUBLISHED.public_uuid},
        public=_published_public(),
    ),
    _by_id("publicPassport", "B's draft", t.B_DRAFT.public_uuid, arg="uuid", gql_type="String!"),
)
