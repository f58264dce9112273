"""Listing few or many items with their relations costs the same number of SQL statements."""

from __future__ import annotations

from typing import Any

from tests.subgraphs.identity.conftest import Identity, data, tenant_id, user_id
from tests.support.postgres import rls_statements

ACME = tenant_id("acme")
# Identity reads the caller's current context in-process on every request: user and session, tenant with
# membership and roles, policy rules.
CONTEXT = 3


def extra(identity: Identity) -> int:
    """Statements beyond the operation's own: the caller's context, and on PostgreSQL the RLS tenant of each of
    the request's three transactions (the context's, the request's and the own-memberships lookup)."""
    backend = "postgres" if identity.database_url.startswith("postgresql") else "sqlite"
    return CONTEXT + rls_statements(backend, transactions=3)


USERS = """query($first: Int) { users(first: $first) { totalCount nodes {
  id email roles { name }
  memberships { active joinedAt roles { name } tenant { name status parent { name } roles { name } } }
} } }"""
TENANTS = """query($first: Int) { tenants(first: $first) { totalCount nodes {
  name status roles { name } parent { name status parent { name } }
} } }"""
ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Tenant { name status parent { name } roles { name } }
  ... on User { email roles { name } memberships { tenant { name } roles { name } } }
} }"""


def cost(identity: Identity, query: str, variables: dict[str, Any], **who: Any) -> tuple[int, dict[str, Any]]:
    """(SQL statements the request executed, its data)."""
    before = identity.statements()
    body = data(identity.query(query, variables, **who))
    return identity.statements() - before, body


def test_members_with_nested_relations_cost_a_constant_number_of_statements(identity: Identity) -> None:
    for i in range(12):
        invite = 'mutation($e: String!) { inviteUser(input: {email: $e, name: "Member", roles: ["Viewer"]}) { id } }'
        data(identity.query(invite, {"e": f"member{i:02d}@acme.example"}, as_user="acme-admin"))
    cost(identity, USERS, {"first": 1}, as_user="acme-admin")  # warm up the connection pool
    few, few_body = cost(identity, USERS, {"first": 2}, as_user="acme-admin")
    many, many_body = cost(identity, USERS, {"first": 100}, as_user="acme-admin")
    assert len(few_body["users"]["nodes"]) == 2
    assert len(many_body["users"]["nodes"]) == many_body["users"]["totalCount"] == 17
    # count + page + member roles + own memberships + members + tenants + tenant roles
    assert (few, many) == (7 + extra(identity), 7 + extra(identity))


def test_tenants_with_nested_relations_cost_a_constant_number_of_statements(identity: Identity) -> None:
    onboard = """mutation($input: OnboardTenantInput!) { onboardTenant(input: $input) { tenant { id } } }"""

    def add(name: str, type_: str, parent: str) -> str:
        key = name.lower().replace(" ", "-")
        admin = {"email": f"admin@{key}.example", "name": "Admin", "username": key, "password": "Tenant-Admin-2026"}
        tenant = {"name": name, "domain": f"{key}.example", "type": type_, "parentId": parent, "admin": admin}
        return data(identity.query(onboard, {"input": tenant}, as_user="root"))["onboardTenant"]["tenant"]["id"]

    # Five dealers, each under a distributor of its own, each distributor under Acme: listing the
    # dealers reaches a different parent per dealer and a shared grandparent.
    for i in range(5):
        add(f"Dealer {i}", "DEALER", add(f"Distributor {i}", "DISTRIBUTOR", ACME))
    query = TENANTS.replace("query($first: Int)", "query($first: Int, $type: TenantType)").replace(
        "tenants(first: $first)", "tenants(first: $first, type: $type)"
    )
    cost(identity, query, {"first": 1, "type": "DEALER"}, as_user="root")
    few, few_body = cost(identity, query, {"first": 2, "type": "DEALER"}, as_user="root")
    many, many_body = cost(identity, query, {"first": 100, "type": "DEALER"}, as_user="root")
    assert [n["name"] for n in few_body["tenants"]["nodes"]] == ["Dealer 0", "Dealer 1"]
    assert many_body["tenants"]["totalCount"] == 5
    assert many_body["tenants"]["nodes"][4] == {
        "name": "Dealer 4",
        "status": "INVITED",
        "roles": [],
        "parent": {"name": "Distributor 4", "status": "INVITED", "parent": {"name": "Acme Batteries GmbH"}},
    }
    # count + page + roles (scoped: none outside the active tenant) + parents + own memberships + grandparents
    assert (few, many) == (6 + extra(identity), 6 + extra(identity))


def test_entities_cost_a_constant_number_of_statements(shared_identity: Identity) -> None:
    one = [{"__typename": "Tenant", "id": ACME}, {"__typename": "User", "id": user_id("acme-viewer")}]
    all_of_them = [{"__typename": "Tenant", "id": tenant_id(k)} for k in ("acme", "greenloop", "nordic")] + [
        {"__typename": "User", "id": user_id(k)}
        for k in ("root", "acme-admin", "acme-manager", "acme-viewer", "consultant", "greenloop-admin")
    ]
    cost(shared_identity, ENTITIES, {"r": one}, as_user="acme-admin")
    few, few_body = cost(shared_identity, ENTITIES, {"r": one}, as_user="acme-admin")
    many, many_body = cost(shared_identity, ENTITIES, {"r": all_of_them}, as_user="acme-admin")
    assert len(few_body["_entities"]) == 2
    # GreenLoop's admin is not visible from Acme; the other five users are.
    assert [e is None for e in many_body["_entities"]] == [False] * 3 + [False] * 5 + [True]
    # tenants + users + own memberships + members + tenant roles + member roles
    assert (few, many) == (6 + extra(shared_identity), 6 + extra(shared_identity))
