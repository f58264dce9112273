"""The table of mutations: how tenant A's Admin calls each with tenant B's ids, and what it must get.

Every root ``Mutation`` field of ``schema/supergraph.graphql`` needs an entry here (``test_coverage``
fails naming the field otherwise). Whatever the entry, the suite checks that every row of tenant B
in the four databases is unchanged afterwards and that B, reading its objects back through the
gateway, sees exactly what it saw before (test_mutations.py).

``denied``: the codes the call must fail with (NOT_FOUND for B's tenant-owned objects: they do not
exist for A; FORBIDDEN for what only platform administrators may do, whoever's object it is).
``None`` marks a mutation that names none of B's objects (it acts on the caller's own tenant or
session): it may succeed, and B's data must still be unchanged.
``caller``: ``admin`` (A's cached Admin token), ``fresh`` (a new sign-in of A's Admin, for
mutations that end sessions) or ``anonymous``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from subgraphs.common import demo
from tests.isolation import tenants as t

NOT_FOUND = frozenset({"NOT_FOUND"})
PLATFORM_ONLY = frozenset({"FORBIDDEN"})
A_ADMIN_USER = next(u for u in demo.USERS if u.key == t.A_ADMIN)


@dataclass(frozen=True, slots=True)
class MutationCase:
    field: str
    label: str
    params: str
    args: str
    variables: dict[str, Any] = dataclasses.field(default_factory=dict)
    denied: frozenset[str] | None = NOT_FOUND
    caller: str = "admin"
    known_leak: str = ""  # reported to the lead: the case runs as xfail(strict=True) until fixed

    @property
    def id(self) -> str:
        return f"{self.field}[{self.label}]"

    def bound(self, target: str) -> dict[str, Any]:
        """Variables for one target; ``{target}`` in string values keeps created names unique."""
        return {k: _fill(v, target) for k, v in self.variables.items()}


# The consultant (Manager in A, Viewer in B) signed in to A tries B's objects with the scopes a Manager has
# in A; the mutations behind a policy (which a Manager lacks) or identity:admin are refused for that alone.
CONSULTANT_FIELDS = frozenset(
    {
        "updateProduct",
        "transferProduct",
        "deleteProduct",
        "createPassport",
        "setPassportValues",
        "revisePassport",
        "archivePassport",
    }
)


def params(cases: tuple[MutationCase, ...]) -> list[object]:
    """``(case, attacker)`` pytest parameters: every case as A's Admin, B-object cases also as the
    consultant acting in A; known leaks as strict xfails."""
    import pytest

    found: list[object] = []
    for c in cases:
        marks = [pytest.mark.xfail(strict=True, reason=c.known_leak)] if c.known_leak else []
        found.append(pytest.param(c, "A-admin", id=f"{c.id}-A-admin", marks=marks))
        if c.field in CONSULTANT_FIELDS:
            found.append(pytest.param(c, "A-consultant", id=f"{c.id}-A-consultant", marks=marks))
    return found


def _fill(value: Any, target: str) -> Any:
    if isinstance(value, str):
        return value.replace("{target}", target.upper())
    if isinstance(value, dict):
        return {k: _fill(v, target) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, target) for v in value]
    return value


_PRODUCT = {"name": "Iso Tee {target}", "sku": "ISO-{target}", "categoryId": t.TEXTILES.id}

MUTATIONS: tuple[MutationCase, ...] = (
    # identity: sessions and the active tenant's settings are the caller's own
    MutationCase("logout", "own session", "", "", denied=None, caller="fresh"),
    MutationCase("logoutEverywhere", "own sessions", "", "", denied=None, caller="fresh"),
    MutationCase(
        "grantPolicy",
        "own tenant's Manager",
        "($r: String!, $p: String!)",
        "(role: $r, policy: $p)",
        {"r": "Manager", "p": "passport:publish"},
        None,
    ),
    MutationCase(
        "revokePolicy",
        "own tenant's Manager",
        "($r: String!, $p: String!)",
        "(role: $r, policy: $p)",
        {"r": "Manager", "p": "passport:publish"},
        None,
    ),
    MutationCase("removeMember", "B's viewer", "($u: ID!)", "(userId: $u)", {"u": t.B_VIEWER.id}),
    MutationCase("issueInvitation", "B's viewer", "($u: ID!)", "(userId: $u)", {"u": t.B_VIEWER.id}),
    MutationCase(
        "assignRoles",
        "B's viewer to Admin",
        "($u: ID!, $r: [String!]!)",
        "(userId: $u, roles: $r)",
        {"u": t.B_VIEWER.id, "r": ["Admin"]},
    ),
    MutationCase(
        "setUserStatus",
        "deactivate B's admin",
        "($u: ID!)",
        "(userId: $u, status: DEACTIVATED)",
        {"u": next(u for u in t.B_USERS if u.key == t.B_ADMIN).id},
        PLATFORM_ONLY,
    ),
    MutationCase(
        "setTenantStatus", "deactivate B", "($id: ID!)", "(id: $id, status: DEACTIVATED)", {"id": t.B.id}, PLATFORM_ONLY
    ),
    MutationCase(
        "onboardTenant",
        "child of B",
        "($i: OnboardTenantInput!)",
        "(input: $i)",
        {
            "i": {
                "name": "Iso {target}",
                "domain": "iso-{target}.example",
                "type": "DEALER",
                "parentId": t.B.id,
                "admin": {
                    "email": "iso@{target}.example",
                    "name": "Iso",
                    "username": "iso{target}",
                    "password": "Iso-Pass-2026!",
                },
            }
        },
        PLATFORM_ONLY,
    ),
    MutationCase(
        "inviteUser",
        "B's viewer by email",
        "($i: InviteUserInput!)",
        "(input: $i)",
        {"i": {"email": t.B_VIEWER.email, "name": "Iso Invite", "roles": ["Viewer"]}},
        None,
    ),
    MutationCase(
        "acceptInvitation",
        "forged token",
        "($t: String!)",
        '(token: $t, password: "Iso-Pass-2026!")',
        {"t": "inv_forged"},
        frozenset({"UNAUTHENTICATED", "BAD_USER_INPUT", "NOT_FOUND"}),
        caller="anonymous",
    ),
    MutationCase(
        "login",
        "A's admin into B",
        "($e: String!, $p: String!, $t: ID)",
        "(email: $e, password: $p, tenantId: $t)",
        {"e": A_ADMIN_USER.email, "p": A_ADMIN_USER.password, "t": t.B.id},
        frozenset({"FORBIDDEN", "UNAUTHENTICATED", "NOT_FOUND"}),
        caller="anonymous",
    ),
    MutationCase(
        "refreshToken", "A's own session", "($t: String!)", "(refreshToken: $t)", {"t": "{refresh}"}, None, "fresh"
    ),
    # catalog
    MutationCase("createProduct", "in A", "($i: ProductInput!)", "(input: $i)", {"i": _PRODUCT}, None),
    MutationCase(
        "importProducts",
        "into A",
        "($i: [ProductInput!]!)",
        "(items: $i)",
        {"i": [{**_PRODUCT, "name": "Iso Import {target}", "sku": "ISO-IMP-{target}"}]},
        None,
    ),
    MutationCase(
        "updateProduct",
        "B's product",
        "($id: ID!, $i: ProductUpdateInput!)",
        "(id: $id, expectedVersion: 1, input: $i)",
        {"id": t.B_PRODUCT.id, "i": {"name": "pwned"}},
    ),
    MutationCase("featureProduct", "B's product", "($id: ID!)", "(id: $id, featured: false)", {"id": t.B_PRODUCT.id}),
    MutationCase(
        "transferProduct",
        "B's product",
        "($id: ID!, $c: ID!)",
        "(id: $id, categoryId: $c, expectedVersion: 1)",
        {"id": t.B_PRODUCT.id, "c": t.TEXTILES.id},
    ),
    MutationCase(
        "deleteProduct", "B's product", "($id: ID!)", "(id: $id, expectedVersion: 1)", {"id": t.B_PRODUCT_FREE.id}
    ),
    # templates: definitions are the platform's; enablement is the caller's tenant's
    MutationCase(
        "createTemplateField",
        "library",
        "($i: CreateTemplateFieldInput!)",
        "(input: $i)",
        {"i": {"key": "iso_{target}", "label": "Iso", "type": "STRING"}},
        PLATFORM_ONLY,
    ),
    MutationCase(
        "createTemplate",
        "for B's category",
        "($i: CreateTemplateInput!)",
        "(input: $i)",
        {"i": {"name": "Iso {target}", "categoryId": t.BATTERIES.id, "fieldIds": []}},
        PLATFORM_ONLY,
    ),
    MutationCase(
        "updateTemplateDraft",
        "B's template",
        "($id: ID!)",
        '(id: $id, input: {name: "pwned"})',
        {"id": t.B_ONLY_TEMPLATE.id},
        PLATFORM_ONLY,
    ),
    MutationCase(
        "reviseTemplate", "B's template", "($id: ID!)", "(id: $id)", {"id": t.B_ONLY_TEMPLATE.id}, PLATFORM_ONLY
    ),
    MutationCase(
        "publishTemplate", "B's template", "($id: ID!)", "(id: $id)", {"id": t.B_ONLY_TEMPLATE.id}, PLATFORM_ONLY
    ),
    MutationCase(
        "deprecateTemplate", "B's template", "($id: ID!)", "(id: $id)", {"id": t.B_ONLY_TEMPLATE.id}, PLATFORM_ONLY
    ),
    MutationCase(
        "enableTemplate", "B's template for A", "($id: ID!)", "(templateId: $id)", {"id": t.B_ONLY_TEMPLATE.id}, None
    ),
    MutationCase(
        "disableTemplate", "B's template for A", "($id: ID!)", "(templateId: $id)", {"id": t.B_ONLY_TEMPLATE.id}, None
    ),
    # passport
    MutationCase(
        "createPassport",
        "for B's product",
        "($i: CreatePassportInput!)",
        "(input: $i)",
        {"i": {"name": "ISO_{target}", "productId": t.B_PRODUCT_FREE.id, "templateId": t.B_ONLY_TEMPLATE.id}},
    ),
    MutationCase(
        "setPassportValues",
        "B's draft",
        "($id: ID!, $v: [FieldValueInput!]!)",
        "(id: $id, expectedVersion: 1, values: $v)",
        {"id": t.B_DRAFT.id, "v": [{"key": "manufacturer_name", "value": "pwned"}]},
    ),
    MutationCase("publishPassport", "B's draft", "($id: ID!)", "(id: $id)", {"id": t.B_DRAFT.id}),
    MutationCase("revisePassport", "B's published", "($id: ID!)", "(id: $id)", {"id": t.B_PUBLISHED.id}),
    MutationCase(
        "revokePassport", "B's published", "($id: ID!)", '(id: $id, reason: "pwned")', {"id": t.B_PUBLISHED.id}
    ),
    MutationCase("archivePassport", "B's published", "($id: ID!)", "(id: $id)", {"id": t.B_PUBLISHED.id}),
)
