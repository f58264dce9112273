"""Identity's check-then-write rules under real parallel requests, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.subgraphs.identity.conftest import Identity, data, tenant_id, user_id
from tests.support.client import gql

INVITE = 'mutation($e: String!) { inviteUser(input: {email: $e, name: "Admin Too", roles: ["Admin"]}) { id } }'
ASSIGN = "mutation($id: ID!, $roles: [String!]!) { assignRoles(userId: $id, roles: $roles) { id } }"
ONBOARD = "mutation($input: OnboardTenantInput!) { onboardTenant(input: $input) { tenant { id status } } }"
SET_STATUS = "mutation($id: ID!, $s: TenantStatus!) { setTenantStatus(id: $id, status: $s) { status } }"


def _parallel(identity: Identity, calls: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    tokens = {who: identity.token_for(who) for who, _, _ in calls}
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [
            pool.submit(gql, identity.url, query, variables, token=tokens[who]) for who, query, variables in calls
        ]
        return [future.result() for future in futures]


def _code(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    return "OK" if not errors else errors[0]["extensions"]["code"]


def test_parallel_demotions_keep_the_last_admin(identity: Identity) -> None:
    data(identity.query(ASSIGN, {"id": user_id("acme-manager"), "roles": ["Admin"]}, as_user="acme-admin"))
    invited = [
        data(identity.query(INVITE, {"e": f"admin{i}@acme.example"}, as_user="acme-admin"))["inviteUser"]["id"]
        for i in range(8)
    ]
    admins = [user_id("acme-admin"), user_id("acme-manager"), *invited]
    # Each of the two signed-in Admins demotes half of the Admins, the other signed-in one included.
    calls = [
        ("acme-admin" if i % 2 else "acme-manager", ASSIGN, {"id": admin, "roles": ["Viewer"]})
        for i, admin in enumerate(admins)
    ]
    bodies = _parallel(identity, calls)
    codes = [_code(body) for body in bodies]
    assert set(codes) <= {"OK", "CONFLICT", "FORBIDDEN"}, bodies
    holders = identity.sql(
        "SELECT count(*) FROM identity_role_grants g JOIN identity_roles r ON r.id = g.role_id "
        f"WHERE r.name = 'Admin' AND r.tenant_id = '{tenant_id('acme')}'"
    )
    assert holders[0][0] >= 1, (holders, codes)


def test_parallel_tenant_transitions_take_one_path(identity: Identity) -> None:
    admin = {"email": "admin@race.example", "name": "Admin", "username": "race", "password": "Race-Admin-2026"}
    tenant = {"name": "Race Corp", "domain": "race.example", "type": "DEALER", "parentId": tenant_id("acme")}
    onboarded = data(identity.query(ONBOARD, {"input": {**tenant, "admin": admin}}, as_user="root"))
    race = onboarded["onboardTenant"]["tenant"]["id"]
    calls = [("root", SET_STATUS, {"id": race, "s": ("ACCEPTED", "REJECTED")[i % 2]}) for i in range(10)]
    bodies = _parallel(identity, calls)
    winners = [body["data"]["setTenantStatus"]["status"] for body in bodies if _code(body) == "OK"]
    assert len(winners) == 1, bodies
    assert all(_code(body) in {"OK", "CONFLICT"} for body in bodies), bodies
    stored = identity.sql(f"SELECT status FROM identity_tenants WHERE id = '{race}'")
    assert stored[0][0].upper() == winners[0], (stored, winners)
