"""Signing in and refreshing tokens with the development issuer (RS256 tokens checked against its JWKS)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.subgraphs.identity.conftest import Identity, data, error, tenant_id, user_id

ACME, GREENLOOP = tenant_id("acme"), tenant_id("greenloop")
LOGIN = """mutation($email: String!, $password: String!, $tenantId: ID) {
  login(email: $email, password: $password, tenantId: $tenantId) {
    accessToken refreshToken tokenType expiresIn expiresAt refreshExpiresAt roles
    user { id email memberships { active tenant { name } } }
    tenant { id name status }
  }
}"""
REFRESH_TOKEN = """mutation($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken roles tenant { name } user { email } }
}"""


def claims(identity: Identity, token: str) -> dict[str, Any]:
    """The claims of an access token, verified against the JWKS identity serves."""
    keys = KeySet.import_key_set(httpx.get(identity.base_url + "/.well-known/jwks.json", timeout=10).json())
    return dict(jwt.decode(token, keys, algorithms=["RS256"]).claims)


def test_login_issues_a_token_pair_for_the_first_tenant(shared_identity: Identity) -> None:
    body = shared_identity.query(LOGIN, {"email": "consultant@dpp.example", "password": "Consultant-Pass-2026"})
    login = data(body)["login"]
    assert login["tokenType"] == "Bearer"
    assert login["expiresIn"] == 300
    assert login["roles"] == ["Viewer"]
    assert login["tenant"] == {"id": ACME, "name": "Acme Batteries GmbH", "status": "ACTIVATED"}
    assert login["user"] == {
        "id": user_id("consultant"),
        "email": "consultant@dpp.example",
        "memberships": [
            {"active": True, "tenant": {"name": "Acme Batteries GmbH"}},
            {"active": False, "tenant": {"name": "GreenLoop Textiles BV"}},
        ],
    }
    access = claims(shared_identity, login["accessToken"])
    assert (access["sub"], access["tid"], access["typ"], access["iss"]) == (
        user_id("consultant"),
        ACME,
        "access",
        shared_identity.base_url,
    )
    assert "roles" not in access and "padm" not in access  # what one may do is read from identity, not the token
    assert login["refreshToken"].startswith("rt_") and login["refreshToken"].count(".") == 0  # opaque
    expires_at = datetime.fromisoformat(login["expiresAt"])
    assert abs((expires_at - datetime.now(UTC)).total_seconds() - 300) < 120
    # The token works against the subgraph itself.
    me = shared_identity.query("{ me { username } }", token=login["accessToken"])
    assert data(me) == {"me": {"username": "consultant"}}


def test_login_into_a_chosen_tenant(shared_identity: Identity) -> None:
    body = shared_identity.query(
        LOGIN, {"email": "Consultant@DPP.example", "password": "Consultant-Pass-2026", "tenantId": GREENLOOP}
    )
    login = data(body)["login"]
    assert (login["roles"], login["tenant"]["name"]) == (["Manager"], "GreenLoop Textiles BV")
    assert claims(shared_identity, login["accessToken"])["tid"] == GREENLOOP
    assert shared_identity.context(login["accessToken"])[1]["roles"] == ["Manager"]


def test_platform_admin_flag_comes_from_identity(shared_identity: Identity) -> None:
    login = data(shared_identity.query(LOGIN, {"email": "root@dpp.local", "password": "Platform-Admin-2026"}))["login"]
    status, context = shared_identity.context(login["accessToken"])
    assert (status, context["platformAdmin"]) == (200, True)


def test_wrong_credentials_do_not_reveal_whether_the_email_exists(shared_identity: Identity) -> None:
    wrong_password = shared_identity.query(LOGIN, {"email": "admin@acme.example", "password": "Acme-Admin-2025"})
    unknown_email = shared_identity.query(LOGIN, {"email": "nobody@acme.example", "password": "Acme-Admin-2026"})
    assert error(wrong_password) == error(unknown_email) == ("UNAUTHENTICATED", "Invalid email or password")


def test_login_into_a_tenant_one_does_not_belong_to(shared_identity: Identity) -> None:
    body = shared_identity.query(
        LOGIN, {"email": "admin@acme.example", "password": "Acme-Admin-2026", "tenantId": GREENLOOP}
    )
    assert error(body) == ("FORBIDDEN", f"you are not a member of tenant '{GREENLOOP}'")
    missing = "01NOSUCHTENANT0000000000000"
    body = shared_identity.query(
        LOGIN, {"email": "admin@acme.example", "password": "Acme-Admin-2026", "tenantId": missing}
    )
    assert error(body) == ("FORBIDDEN", f"you are not a member of tenant '{missing}'")


def test_deactivated_tenants_cannot_be_signed_into(identity: Identity) -> None:
    first = data(identity.query(LOGIN, {"email": "admin@greenloop.example", "password": "GreenLoop-Admin-2026"}))
    deactivate = "mutation($id: ID!) { setTenantStatus(id: $id, status: DEACTIVATED) { status } }"
    assert data(identity.query(deactivate, {"id": GREENLOOP}, as_user="root")) == {
        "setTenantStatus": {"status": "DEACTIVATED"}
    }
    expected = ("FORBIDDEN", "tenant 'GreenLoop Textiles BV' is deactivated; it cannot be signed into")
    assert error(identity.query(LOGIN, {"email": "admin@greenloop.example", "password": "GreenLoop-Admin-2026"})) == (
        "FORBIDDEN",
        "every tenant you belong to is deactivated or rejected; none can be signed into",
    )
    body = identity.query(
        LOGIN, {"email": "consultant@dpp.example", "password": "Consultant-Pass-2026", "tenantId": GREENLOOP}
    )
    assert error(body) == expected
    # A refresh token issued before the deactivation no longer works either.
    assert error(identity.query(REFRESH_TOKEN, {"token": first["login"]["refreshToken"]})) == expected
    # The consultant's other tenant still works, and is the default now.
    login = data(identity.query(LOGIN, {"email": "consultant@dpp.example", "password": "Consultant-Pass-2026"}))
    assert login["login"]["tenant"]["name"] == "Acme Batteries GmbH"


def test_refresh_issues_a_new_pair_with_roles_read_again(identity: Identity) -> None:
    login = data(identity.query(LOGIN, {"email": "viewer@acme.example", "password": "Acme-Viewer-2026"}))["login"]
    assert login["roles"] == ["Viewer"]
    assign = 'mutation($id: ID!) { assignRoles(userId: $id, roles: ["Manager"]) { id } }'
    data(identity.query(assign, {"id": user_id("acme-viewer")}, as_user="acme-admin"))
    refreshed = data(identity.query(REFRESH_TOKEN, {"token": login["refreshToken"]}))["refreshToken"]
    assert refreshed["roles"] == ["Manager"]
    assert refreshed["tenant"] == {"name": "Acme Batteries GmbH"}
    assert refreshed["user"] == {"email": "viewer@acme.example"}
    assert claims(identity, refreshed["accessToken"])["sub"] == user_id("acme-viewer")
    assert refreshed["refreshToken"] != login["refreshToken"]


def test_refresh_refuses_access_tokens_and_garbage(shared_identity: Identity) -> None:
    login = data(shared_identity.query(LOGIN, {"email": "viewer@acme.example", "password": "Acme-Viewer-2026"}))
    body = shared_identity.query(REFRESH_TOKEN, {"token": login["login"]["accessToken"]})
    assert error(body) == ("UNAUTHENTICATED", "this refresh token is not valid any more; sign in again")
    assert error(shared_identity.query(REFRESH_TOKEN, {"token": "garbage"}))[0] == "UNAUTHENTICATED"


def test_sign_ins_are_audited_without_secrets(identity: Identity) -> None:
    identity.query(LOGIN, {"email": "admin@acme.example", "password": "Acme-Admin-2026"})
    identity.query(LOGIN, {"email": "admin@acme.example", "password": "wrong-Password-1"})
    rows = identity.sql(
        "SELECT object_id, result, message, after FROM identity_audit_log WHERE action = 'login' ORDER BY created_at"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (user_id("acme-admin"), "OK", None),
        (None, "UNAUTHENTICATED", "Invalid email or password"),
    ]
    assert "Acme-Admin-2026" not in str(rows) and "Token" not in str(rows)
