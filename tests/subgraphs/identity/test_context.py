"""GET /auth/context: the caller's current state, read from identity's database at each call."""

from __future__ import annotations

from subgraphs.identity.policies import KNOWN_POLICIES
from tests.subgraphs.identity.conftest import Identity, data, tenant_id, user_id

ACME, GREENLOOP, NORDIC = tenant_id("acme"), tenant_id("greenloop"), tenant_id("nordic")
WRITE = ["catalog:write", "passport:write", "templates:write"]
UNAUTHENTICATED = (
    401,
    {"errors": [{"message": "Invalid or expired token", "extensions": {"code": "UNAUTHENTICATED"}}]},
)
NOT_A_MEMBER = (
    403,
    {"errors": [{"message": "You are not a member of that tenant", "extensions": {"code": "FORBIDDEN"}}]},
)
ASSIGN = "mutation($id: ID!, $roles: [String!]!) { assignRoles(userId: $id, roles: $roles) { id } }"
STATUS = "mutation($id: ID!, $status: TenantStatus!) { setTenantStatus(id: $id, status: $status) { status } }"
GRANT = "mutation($role: String!, $policy: String!) { grantPolicy(role: $role, policy: $policy) { role policy } }"
REVOKE = "mutation($role: String!, $policy: String!) { revokePolicy(role: $role, policy: $policy) { role policy } }"


def test_context_of_an_admin(shared_identity: Identity) -> None:
    token = shared_identity.token_for("acme-admin")
    status, body = shared_identity.context(token, policies="passport:publish,custom:thing")
    assert status == 200
    assert body == {
        "userId": user_id("acme-admin"),
        "email": "admin@acme.example",
        "tenantId": ACME,
        "roles": ["Admin"],
        "scopes": sorted([*WRITE, "identity:admin"]),
        "policies": sorted([*KNOWN_POLICIES, "custom:thing"]),  # Admin holds */* by default
        "platformAdmin": False,
        "actingAsPlatformAdmin": False,
        "tenantClass": "enterprise",
        "sessionId": body["sessionId"],
        "expiresAt": body["expiresAt"],
    }
    assert body["sessionId"] and body["expiresAt"] > 0


def test_manager_and_viewer_defaults(shared_identity: Identity) -> None:
    manager = shared_identity.context(shared_identity.token_for("acme-manager"))[1]
    assert (manager["roles"], manager["scopes"], manager["policies"]) == (["Manager"], WRITE, [])
    viewer = shared_identity.context(shared_identity.token_for("acme-viewer"))[1]
    assert (viewer["roles"], viewer["scopes"], viewer["policies"]) == (["Viewer"], [], [])


def test_tenant_header_picks_a_tenant_one_belongs_to(shared_identity: Identity) -> None:
    token = shared_identity.token_for("consultant")  # Viewer in Acme (first), Manager in GreenLoop
    assert shared_identity.context(token)[1]["roles"] == ["Viewer"]
    status, body = shared_identity.context(token, tenant=GREENLOOP)
    assert (status, body["tenantId"], body["roles"], body["tenantClass"]) == (
        200,
        GREENLOOP,
        ["Manager"],
        "professional",
    )
    assert shared_identity.context(token, tenant=NORDIC) == NOT_A_MEMBER
    assert shared_identity.context(token, tenant="01NOSUCHTENANT000000000000") == NOT_A_MEMBER


def test_platform_admin_acts_in_any_tenant_as_admin(shared_identity: Identity) -> None:
    token = shared_identity.token_for("root")
    status, body = shared_identity.context(token, tenant=GREENLOOP)
    assert status == 200
    assert (body["roles"], body["platformAdmin"], body["actingAsPlatformAdmin"]) == (["Admin"], True, True)
    assert "identity:admin" in body["scopes"] and set(body["policies"]) == KNOWN_POLICIES
    own = shared_identity.context(token, tenant=ACME)[1]  # a member there: not acting as platform admin
    assert (own["roles"], own["actingAsPlatformAdmin"]) == (["Admin"], False)


def test_missing_or_malformed_credentials(shared_identity: Identity) -> None:
    import httpx

    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer"}):
        response = httpx.get(shared_identity.base_url + "/auth/context", headers=headers, timeout=10)
        assert (response.status_code, response.json()) == UNAUTHENTICATED


def test_a_demoted_member_loses_the_rights_at_once(identity: Identity) -> None:
    manager = identity.token_for("acme-manager")
    assert identity.context(manager)[1]["scopes"] == WRITE
    data(identity.query(ASSIGN, {"id": user_id("acme-manager"), "roles": ["Viewer"]}, as_user="acme-admin"))
    status, body = identity.context(manager)
    assert (status, body["roles"], body["scopes"]) == (200, ["Viewer"], [])


def test_a_removed_membership_is_refused(identity: Identity) -> None:
    manager = identity.token_for("acme-manager")
    remove = "mutation($id: ID!) { removeMember(userId: $id) }"
    assert data(identity.query(remove, {"id": user_id("acme-manager")}, as_user="acme-admin")) == {
        "removeMember": user_id("acme-manager")
    }
    assert identity.context(manager) == NOT_A_MEMBER
    # The last Admin stays.
    last = identity.query(remove, {"id": user_id("greenloop-admin")}, as_user="greenloop-admin")
    assert last["errors"][0]["extensions"]["code"] == "CONFLICT"


def test_a_deactivated_tenant_or_user_is_refused_at_once(identity: Identity) -> None:
    admin = identity.token_for("greenloop-admin")
    consultant = identity.token_for("consultant", "greenloop")
    viewer = identity.token_for("acme-viewer")
    assert identity.context(admin)[0] == 200
    data(identity.query(STATUS, {"id": GREENLOOP, "status": "DEACTIVATED"}, as_user="root"))
    assert identity.context(admin) == UNAUTHENTICATED
    assert identity.context(consultant) == UNAUTHENTICATED
    assert identity.context(consultant, tenant=ACME)[0] == 200  # the consultant's other tenant is fine
    data(identity.query(STATUS, {"id": GREENLOOP, "status": "ACTIVATED"}, as_user="root"))
    assert identity.context(admin)[0] == 200
    deactivate = "mutation($id: ID!) { setUserStatus(userId: $id, status: DEACTIVATED) { status revokedSessions } }"
    body = data(identity.query(deactivate, {"id": user_id("acme-viewer")}, as_user="root"))
    assert body == {"setUserStatus": {"status": "DEACTIVATED", "revokedSessions": 1}}
    assert identity.context(viewer) == UNAUTHENTICATED
    login = 'mutation { login(email: "viewer@acme.example", password: "Acme-Viewer-2026") { accessToken } }'
    assert identity.query(login)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    reactivate = "mutation($id: ID!) { setUserStatus(userId: $id, status: ACTIVE) { status } }"
    data(identity.query(reactivate, {"id": user_id("acme-viewer")}, as_user="root"))
    assert identity.context(viewer) == UNAUTHENTICATED  # its session stays ended
    assert "errors" not in identity.query(login)


def test_policy_grant_and_revoke_take_effect_at_once(identity: Identity) -> None:
    manager = identity.token_for("acme-manager")
    assert identity.context(manager, policies="passport:publish")[1]["policies"] == []
    granted = data(identity.query(GRANT, {"role": "manager", "policy": "passport:publish"}, as_user="acme-admin"))
    assert granted == {"grantPolicy": {"role": "Manager", "policy": "passport:publish"}}
    assert identity.context(manager, policies="passport:publish")[1]["policies"] == ["passport:publish"]
    listed = data(identity.query("{ policies { role policy } }", as_user="acme-admin"))["policies"]
    assert listed == [{"role": "Admin", "policy": "*:*"}, {"role": "Manager", "policy": "passport:publish"}]
    # Other tenants are not affected.
    other = identity.token_for("consultant", "greenloop")
    assert identity.context(other, tenant=GREENLOOP, policies="passport:publish")[1]["policies"] == []
    data(identity.query(REVOKE, {"role": "Manager", "policy": "passport:publish"}, as_user="acme-admin"))
    assert identity.context(manager, policies="passport:publish")[1]["policies"] == []
    audit = identity.sql(
        "SELECT action, object_id, result FROM identity_audit_log WHERE object_type = 'Policy' ORDER BY created_at"
    )
    assert audit == [
        ("grantPolicy", "Manager passport:publish", "OK"),
        ("revokePolicy", "Manager passport:publish", "OK"),
    ]


def test_policy_changes_are_validated_and_for_admins_only(identity: Identity) -> None:
    body = identity.query(GRANT, {"role": "Manager", "policy": "passport:explode"}, as_user="acme-admin")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = identity.query(GRANT, {"role": "Janitor", "policy": "passport:publish"}, as_user="acme-admin")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = identity.query(GRANT, {"role": "Manager", "policy": "passport:publish"}, as_user="acme-manager")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


ONBOARD = """mutation($input: OnboardTenantInput!) { onboardTenant(input: $input) { tenant { id } } }"""


def test_an_onboarded_recycler_gets_the_default_policies_and_the_restricted_scope(identity: Identity) -> None:
    admin = {"email": "admin@sortit.example", "name": "Sam", "username": "sam", "password": "Sort-It-Admin-2026"}
    tenant = {"name": "SortIt", "domain": "sortit.example", "type": "SORTER", "admin": admin}
    new_id = data(identity.query(ONBOARD, {"input": tenant}, as_user="root"))["onboardTenant"]["tenant"]["id"]
    login = data(
        identity.query(
            'mutation { login(email: "admin@sortit.example", password: "Sort-It-Admin-2026") { accessToken } }'
        )
    )["login"]
    status, body = identity.context(login["accessToken"])
    assert (status, body["tenantId"], body["roles"]) == (200, new_id, ["Admin"])
    assert body["scopes"] == sorted([*WRITE, "identity:admin", "passport:restricted"])
    assert set(body["policies"]) == KNOWN_POLICIES
    rules = identity.sql(f"SELECT role, object, action FROM identity_policy_rules WHERE tenant_id = '{new_id}'")
    assert rules == [("Admin", "*", "*")]


def test_granting_twice_or_revoking_what_is_not_held(identity: Identity) -> None:
    variables = {"role": "Viewer", "policy": "catalog:feature"}
    data(identity.query(GRANT, variables, as_user="acme-admin"))
    again = identity.query(GRANT, variables, as_user="acme-admin")
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    data(identity.query(REVOKE, variables, as_user="acme-admin"))
    gone = identity.query(REVOKE, variables, as_user="acme-admin")
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"
