"""Onboarding, invitations, role assignment, the tenant lifecycle and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest

from tests.subgraphs.identity.conftest import Identity, data, error, tenant_id, user_id

ACME, GREENLOOP, NORDIC = tenant_id("acme"), tenant_id("greenloop"), tenant_id("nordic")

ONBOARD = """mutation($input: OnboardTenantInput!) {
  onboardTenant(input: $input) {
    tenant { id name domain type status tenantClass parent { name } }
    admin { email name username status }
    roles { name }
  }
}"""
LOGIN = """mutation($email: String!, $password: String!, $tenantId: ID) {
  login(email: $email, password: $password, tenantId: $tenantId) { accessToken roles tenant { id name } }
}"""
INVITE = """mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { id email name username status roles { name } }
}"""
ASSIGN = (
    """mutation($id: ID!, $roles: [String!]!) { assignRoles(userId: $id, roles: $roles) { email roles { name } } }"""
)
SET_STATUS = (
    """mutation($id: ID!, $status: TenantStatus!) { setTenantStatus(id: $id, status: $status) { name status } }"""
)


def onboarding(**changes: Any) -> dict[str, Any]:
    """Input for onboarding a new tenant, with ``changes`` (``admin_*`` keys change the admin)."""
    admin = {"email": "ola@fjord.example", "name": "Ola Nordmann", "username": "ola", "password": "Fjord-Admin-2026"}
    tenant: dict[str, Any] = {
        "name": "Fjord Recycling AS",
        "domain": "Fjord.Example",
        "type": "SORTER",
        "tenantClass": "PROFESSIONAL",
        "parentId": None,
    }
    for key, value in changes.items():
        if key.startswith("admin_"):
            admin[key.removeprefix("admin_")] = value
        else:
            tenant[key] = value
    return {"input": {**tenant, "admin": admin}}


def counts(identity: Identity) -> dict[str, int]:
    """How many rows each identity table holds."""
    tables = ("tenants", "users", "memberships", "roles", "role_grants")
    return {t: identity.sql(f"SELECT count(*) FROM identity_{t}")[0][0] for t in tables}


def test_onboard_tenant_creates_tenant_admin_and_roles(identity: Identity) -> None:
    body = identity.query(ONBOARD, onboarding(parentId=GREENLOOP), as_user="root")
    result = data(body)["onboardTenant"]
    new_id = result["tenant"].pop("id")
    assert result == {
        "tenant": {
            "name": "Fjord Recycling AS",
            "domain": "fjord.example",
            "type": "SORTER",
            "status": "INVITED",
            "tenantClass": "PROFESSIONAL",
            "parent": {"name": "GreenLoop Textiles BV"},
        },
        "admin": {"email": "ola@fjord.example", "name": "Ola Nordmann", "username": "ola", "status": "ACTIVE"},
        "roles": [{"name": "Admin"}, {"name": "Manager"}, {"name": "Viewer"}],
    }
    # The first admin signs in to the new tenant with the Admin role, and sees its members.
    login = data(identity.query(LOGIN, {"email": "ola@fjord.example", "password": "Fjord-Admin-2026"}))["login"]
    assert (login["roles"], login["tenant"]) == (["Admin"], {"id": new_id, "name": "Fjord Recycling AS"})
    users = identity.query("{ users { nodes { username roles { name } } } }", token=login["accessToken"])
    assert data(users) == {"users": {"nodes": [{"username": "ola", "roles": [{"name": "Admin"}]}]}}
    audit = identity.sql("SELECT object_id, result FROM identity_audit_log WHERE action = 'onboardTenant'")
    assert audit == [(new_id, "OK")]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"admin_password": "short"},
            ("BAD_USER_INPUT", "password needs at least 12 characters, an upper case letter and a digit"),
        ),
        (
            {"admin_email": "ADMIN@acme.example"},
            ("CONFLICT", "a user with email 'admin@acme.example' already exists"),
        ),
        (
            {"admin_username": "root"},
            ("CONFLICT", "username 'root' is taken; choose another"),
        ),
        (
            {"domain": "acme.example"},
            ("CONFLICT", "a tenant with domain 'acme.example' already exists"),
        ),
    ],
)
def test_failed_onboarding_leaves_nothing_behind(identity: Identity, changes: dict[str, Any], expected: tuple) -> None:
    before = counts(identity)
    assert error(identity.query(ONBOARD, onboarding(**changes), as_user="root")) == expected
    assert counts(identity) == before
    assert identity.sql("SELECT count(*) FROM identity_tenants WHERE name = 'Fjord Recycling AS'") == [(0,)]
    audit = identity.sql("SELECT result, message FROM identity_audit_log WHERE action = 'onboardTenant'")
    assert audit == [expected]


def test_onboarding_is_for_platform_admins(identity: Identity) -> None:
    assert error(identity.query(ONBOARD, onboarding(), as_user="acme-admin")) == (
        "FORBIDDEN",
        "Only platform administrators may do this",
    )


def test_onboarding_validates_its_input(identity: Identity) -> None:
    assert error(identity.query(ONBOARD, onboarding(domain="not a domain"), as_user="root")) == (
        "BAD_USER_INPUT",
        "'not a domain' is not a domain name (like 'example.com')",
    )
    assert error(identity.query(ONBOARD, onboarding(parentId="01NOSUCHTENANT0000000000000"), as_user="root")) == (
        "BAD_USER_INPUT",
        "parent tenant '01NOSUCHTENANT0000000000000' does not exist",
    )
    assert error(identity.query(ONBOARD, onboarding(admin_email="ola-at-fjord"), as_user="root")) == (
        "BAD_USER_INPUT",
        "'ola-at-fjord' is not an email address",
    )


@pytest.mark.parametrize(
    ("password", "unmet"),
    [
        ("Sh0rt", ["at least 12 characters"]),
        ("all-lower-case-1", ["an upper case letter"]),
        ("ALL-UPPER-CASE-1", ["a lower case letter"]),
        ("No-Digits-Anywhere", ["a digit"]),
        ("", ["at least 12 characters", "a lower case letter", "an upper case letter", "a digit"]),
    ],
)
def test_password_policy_names_each_unmet_rule(shared_identity: Identity, password: str, unmet: list[str]) -> None:
    body = shared_identity.query(ONBOARD, onboarding(admin_password=password), as_user="root")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "password", "unmet": unmet}
    joined = unmet[0] if len(unmet) == 1 else ", ".join(unmet[:-1]) + " and " + unmet[-1]
    assert body["errors"][0]["message"] == f"password needs {joined}"


def test_tenant_lifecycle(identity: Identity) -> None:
    def move(status: str) -> dict[str, Any]:
        return identity.query(SET_STATUS, {"id": NORDIC, "status": status}, as_user="root")

    assert error(move("ACTIVATED")) == (
        "CONFLICT",
        "cannot change status from invited to activated; allowed: accepted, rejected",
    )
    assert data(move("ACCEPTED"))["setTenantStatus"] == {"name": "Nordic Retail AB", "status": "ACCEPTED"}
    assert error(move("DEACTIVATED")) == (
        "CONFLICT",
        "cannot change status from accepted to deactivated; allowed: activated",
    )
    assert data(move("ACTIVATED"))["setTenantStatus"]["status"] == "ACTIVATED"
    assert error(move("ACTIVATED")) == (
        "CONFLICT",
        "cannot change status from activated to activated; allowed: deactivated",
    )
    assert data(move("DEACTIVATED"))["setTenantStatus"]["status"] == "DEACTIVATED"
    assert data(move("ACTIVATED"))["setTenantStatus"]["status"] == "ACTIVATED"
    audit = identity.sql(
        "SELECT before, after, result FROM identity_audit_log WHERE action = 'setTenantStatus' ORDER BY created_at"
    )
    assert [(r[0], r[1], r[2]) for r in audit if r[2] == "OK"] == [
        ({"status": "invited"}, {"status": "accepted"}, "OK"),
        ({"status": "accepted"}, {"status": "activated"}, "OK"),
        ({"status": "activated"}, {"status": "deactivated"}, "OK"),
        ({"status": "deactivated"}, {"status": "activated"}, "OK"),
    ]


def test_rejected_is_final(identity: Identity) -> None:
    assert data(identity.query(SET_STATUS, {"id": NORDIC, "status": "REJECTED"}, as_user="root"))
    body = identity.query(SET_STATUS, {"id": NORDIC, "status": "ACCEPTED"}, as_user="root")
    assert error(body) == ("CONFLICT", "cannot change status from rejected to accepted; allowed: none")
    assert body["errors"][0]["extensions"]["allowed"] == []


def test_set_tenant_status_is_for_platform_admins(shared_identity: Identity) -> None:
    body = shared_identity.query(SET_STATUS, {"id": ACME, "status": "DEACTIVATED"}, as_user="acme-admin")
    assert error(body) == ("FORBIDDEN", "Only platform administrators may do this")
    missing = "01NOSUCHTENANT0000000000000"
    body = shared_identity.query(SET_STATUS, {"id": missing, "status": "ACCEPTED"}, as_user="root")
    assert error(body) == ("NOT_FOUND", f"tenant '{missing}' not found")


def test_invite_a_new_user(identity: Identity) -> None:
    body = identity.query(
        INVITE,
        {"input": {"email": "Nina.Neu@acme.example", "name": "Nina Neu", "roles": ["viewer", "Manager"]}},
        as_user="acme-admin",
    )
    invited = data(body)["inviteUser"]
    new_id = invited.pop("id")
    assert invited == {
        "email": "nina.neu@acme.example",
        "name": "Nina Neu",
        "username": "nina.neu",
        "status": "INVITED",
        "roles": [{"name": "Manager"}, {"name": "Viewer"}],
    }
    members = data(identity.query("{ users { totalCount nodes { id } } }", as_user="acme-admin"))["users"]
    assert members["totalCount"] == 6 and new_id in [n["id"] for n in members["nodes"]]
    # Invited users have no password yet, so they cannot sign in.
    assert error(identity.query(LOGIN, {"email": "nina.neu@acme.example", "password": ""}))[0] == "UNAUTHENTICATED"
    assert identity.sql(f"SELECT password_hash FROM identity_users WHERE id = '{new_id}'") == [(None,)]


ISSUE_INVITATION = "mutation($id: ID!) { issueInvitation(userId: $id) { token user { email status } } }"
ACCEPT = """mutation($token: String!, $password: String!) {
  acceptInvitation(token: $token, password: $password) { accessToken roles tenant { id } user { email status } }
}"""


def test_an_invited_user_accepts_once_and_then_signs_in(identity: Identity) -> None:
    invited = data(
        identity.query(
            INVITE,
            {"input": {"email": "ines@acme.example", "name": "Ines", "roles": ["Manager"]}},
            as_user="acme-admin",
        )
    )["inviteUser"]
    # Only an Admin of the tenant may issue the invitation, and only for its own invited members.
    assert error(identity.query(ISSUE_INVITATION, {"id": invited["id"]}, as_user="acme-viewer"))[0] == "FORBIDDEN"
    assert error(identity.query(ISSUE_INVITATION, {"id": invited["id"]}, as_user="greenloop-admin")) == (
        "NOT_FOUND",
        f"User {invited['id']!r} not found",
    )
    issued = data(identity.query(ISSUE_INVITATION, {"id": invited["id"]}, as_user="acme-admin"))["issueInvitation"]
    assert issued["user"] == {"email": "ines@acme.example", "status": "INVITED"}

    weak = identity.query(ACCEPT, {"token": issued["token"], "password": "short"})
    assert error(weak)[0] == "BAD_USER_INPUT"
    accepted = data(identity.query(ACCEPT, {"token": issued["token"], "password": "Ines-Strong-2026"}))
    assert accepted["acceptInvitation"]["roles"] == ["Manager"]
    assert accepted["acceptInvitation"]["tenant"] == {"id": ACME}
    assert accepted["acceptInvitation"]["user"] == {"email": "ines@acme.example", "status": "ACTIVE"}

    again = identity.query(ACCEPT, {"token": issued["token"], "password": "Other-Strong-2026"})
    # Single use: the token itself is spent.
    assert error(again) == ("UNAUTHENTICATED", "this invitation is not valid (unknown, expired or already used)")
    login = identity.query(LOGIN, {"email": "ines@acme.example", "password": "Ines-Strong-2026"})
    assert data(login)["login"]["tenant"] == {"id": ACME, "name": "Acme Batteries GmbH"}
    # An active member needs no invitation.
    assert error(identity.query(ISSUE_INVITATION, {"id": invited["id"]}, as_user="acme-admin"))[0] == "CONFLICT"


def test_a_forged_or_misused_token_is_not_an_invitation(identity: Identity) -> None:
    invalid = ("UNAUTHENTICATED", "this invitation is not valid (unknown, expired or already used)")
    assert error(identity.query(ACCEPT, {"token": "not-a-token", "password": "Ines-Strong-2026"})) == invalid
    login = identity.login("acme-viewer")
    for token in (login["accessToken"], login["refreshToken"]):
        assert error(identity.query(ACCEPT, {"token": token, "password": "Ines-Strong-2026"})) == invalid


# Inviting the email of an existing account: tests/subgraphs/identity/test_privacy.py (nothing granted or
# shown before its owner accepts, the same answer as for an unknown email).


def test_invite_checks_roles_and_permissions(identity: Identity) -> None:
    unknown = identity.query(
        INVITE, {"input": {"email": "x@acme.example", "roles": ["Owner", "Viewer", "Auditor"]}}, as_user="acme-admin"
    )
    assert error(unknown) == (
        "BAD_USER_INPUT",
        "unknown roles: Owner, Auditor; this tenant has: Admin, Manager, Viewer",
    )
    assert unknown["errors"][0]["extensions"]["unknown"] == ["Owner", "Auditor"]
    none = identity.query(INVITE, {"input": {"email": "x@acme.example", "roles": []}}, as_user="acme-admin")
    assert error(none) == ("BAD_USER_INPUT", "give at least one role; this tenant has: Admin, Manager, Viewer")
    manager = identity.query(
        INVITE, {"input": {"email": "x@acme.example", "roles": ["Viewer"]}}, as_user="acme-manager"
    )
    assert error(manager) == ("FORBIDDEN", "This needs the identity:admin scope")
    assert identity.sql("SELECT count(*) FROM identity_users WHERE email = 'x@acme.example'") == [(0,)]


def test_assign_roles(identity: Identity) -> None:
    body = identity.query(ASSIGN, {"id": user_id("acme-viewer"), "roles": ["Manager", "viewer"]}, as_user="acme-admin")
    assert data(body)["assignRoles"] == {
        "email": "viewer@acme.example",
        "roles": [{"name": "Manager"}, {"name": "Viewer"}],
    }
    body = identity.query(ASSIGN, {"id": user_id("acme-viewer"), "roles": ["Manager"]}, as_user="acme-admin")
    assert data(body)["assignRoles"]["roles"] == [{"name": "Manager"}]
    audit = identity.sql(
        "SELECT object_id, before, after FROM identity_audit_log WHERE action = 'assignRoles' ORDER BY created_at"
    )
    assert audit == [
        (user_id("acme-viewer"), {"roles": ["Viewer"]}, {"roles": ["Manager", "Viewer"]}),
        (user_id("acme-viewer"), {"roles": ["Manager", "Viewer"]}, {"roles": ["Manager"]}),
    ]


def test_assign_roles_refusals(identity: Identity) -> None:
    unknown = identity.query(ASSIGN, {"id": user_id("acme-viewer"), "roles": ["Superuser"]}, as_user="acme-admin")
    assert error(unknown) == ("BAD_USER_INPUT", "unknown roles: Superuser; this tenant has: Admin, Manager, Viewer")
    # A user of another tenant is not found, not forbidden.
    other = identity.query(ASSIGN, {"id": user_id("greenloop-admin"), "roles": ["Viewer"]}, as_user="acme-admin")
    assert error(other) == ("NOT_FOUND", f"user '{user_id('greenloop-admin')}' not found")
    last = identity.query(ASSIGN, {"id": user_id("greenloop-admin"), "roles": ["Viewer"]}, as_user="greenloop-admin")
    assert error(last) == (
        "CONFLICT",
        "admin@greenloop.example is the last Admin of this tenant; give another member the Admin role first",
    )
    viewer = identity.query(ASSIGN, {"id": user_id("acme-viewer"), "roles": ["Admin"]}, as_user="acme-manager")
    assert error(viewer) == ("FORBIDDEN", "This needs the identity:admin scope")
    roles = identity.sql(
        "SELECT r.name FROM identity_role_grants g JOIN identity_roles r ON r.id = g.role_id "
        "JOIN identity_memberships m ON m.id = g.membership_id "
        f"WHERE m.user_id IN ('{user_id('acme-viewer')}', '{user_id('greenloop-admin')}') ORDER BY r.name"
    )
    assert roles == [("Admin",), ("Viewer",)]


def test_audit_log_is_per_tenant(identity: Identity) -> None:
    identity.query(ASSIGN, {"id": user_id("acme-viewer"), "roles": ["Manager"]}, as_user="acme-admin")
    identity.query(ASSIGN, {"id": user_id("acme-viewer"), "roles": ["Nope"]}, as_user="acme-admin")
    query = (
        "{ identityAuditLog { totalCount nodes { userId action objectType objectId before after result message } } }"
    )
    acme = data(identity.query(query, as_user="acme-admin"))["identityAuditLog"]
    assert acme == {
        "totalCount": 2,
        "nodes": [
            {
                "userId": user_id("acme-admin"),
                "action": "assignRoles",
                "objectType": "User",
                "objectId": user_id("acme-viewer"),
                "before": None,
                "after": None,
                "result": "BAD_USER_INPUT",
                "message": "unknown roles: Nope; this tenant has: Admin, Manager, Viewer",
            },
            {
                "userId": user_id("acme-admin"),
                "action": "assignRoles",
                "objectType": "User",
                "objectId": user_id("acme-viewer"),
                "before": {"roles": ["Viewer"]},
                "after": {"roles": ["Manager"]},
                "result": "OK",
                "message": None,
            },
        ],
    }
    assert data(identity.query(query, as_user="greenloop-admin"))["identityAuditLog"] == {"totalCount": 0, "nodes": []}
    assert error(identity.query(query, as_user="acme-manager"))[0] == "FORBIDDEN"
