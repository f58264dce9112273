"""Inviting someone else's account: no membership before they accept, nothing of the account shown,
and the same answer as for an email nobody uses (real identity server, SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from subgraphs.common import demo
from tests.subgraphs.identity.conftest import Identity, data, error, tenant_id, user_id

ACME = tenant_id("acme")
GUS = next(u for u in demo.USERS if u.key == "greenloop-admin")  # a GreenLoop Admin, not in Acme
VIEW = "id email name username status platformAdmin roles { name } memberships { active roles { name } }"
INVITE = f"mutation($input: InviteUserInput!) {{ inviteUser(input: $input) {{ {VIEW} }} }}"
ISSUE = f"mutation($id: ID!) {{ issueInvitation(userId: $id) {{ token user {{ {VIEW} }} }} }}"
ACCEPT = """mutation($token: String!, $password: String!) {
  acceptInvitation(token: $token, password: $password) { roles tenant { id } user { id email name } }
}"""
LOGIN = """mutation($email: String!, $password: String!, $tenantId: ID) {
  login(email: $email, password: $password, tenantId: $tenantId) { roles tenant { id } }
}"""
MEMBERS = "{ users(first: 100) { nodes { id email } } }"


def _invite(identity: Identity, email: str) -> dict[str, Any]:
    variables = {"input": {"email": email, "name": "Guest Person", "roles": ["Viewer"]}}
    return data(identity.query(INVITE, variables, as_user="acme-admin"))["inviteUser"]


def _without_own_input(view: dict[str, Any], local_part: str) -> dict[str, Any]:
    """The answer with what the Admin typed (email, username from it) and the fresh id taken out."""
    assert view["username"] == local_part
    return {k: v for k, v in view.items() if k not in ("id", "email", "username")}


def test_inviting_an_existing_account_grants_and_shows_nothing_until_its_owner_accepts(identity: Identity) -> None:
    known = _invite(identity, GUS.email.upper())
    unknown = _invite(identity, "nobody.yet@elsewhere.example")
    # The same answer for a known and an unknown email: the Admin's own input, nothing of the account.
    assert _without_own_input(known, GUS.email.split("@")[0]) == _without_own_input(unknown, "nobody.yet")
    assert known["email"] == GUS.email and known["name"] == "Guest Person" and known["status"] == "INVITED"
    assert known["platformAdmin"] is False and known["roles"] == [{"name": "Viewer"}]
    assert known["id"] != user_id("greenloop-admin")

    # Not a member of Acme before accepting: not listed, cannot sign in there.
    members = data(identity.query(MEMBERS, as_user="acme-admin"))["users"]["nodes"]
    assert user_id("greenloop-admin") not in [m["id"] for m in members]
    refused = identity.query(LOGIN, {"email": GUS.email, "password": GUS.password, "tenantId": ACME})
    assert error(refused)[0] == "FORBIDDEN"
    again = identity.query(
        INVITE, {"input": {"email": GUS.email, "name": "Guest Person", "roles": ["Viewer"]}}, as_user="acme-admin"
    )
    assert error(again) == ("CONFLICT", f"{GUS.email} is already a member of this tenant")

    # The invitation is issued like any other, still showing only the Admin's input.
    issued = data(identity.query(ISSUE, {"id": known["id"]}, as_user="acme-admin"))["issueInvitation"]
    assert issued["user"] == known
    fresh = data(identity.query(ISSUE, {"id": unknown["id"]}, as_user="acme-admin"))["issueInvitation"]
    assert _without_own_input(fresh["user"], "nobody.yet") == _without_own_input(issued["user"], "admin")

    # Only the account's owner can accept, with the account's own password; then they are a Viewer of Acme.
    wrong = identity.query(ACCEPT, {"token": issued["token"], "password": "Not-Their-Password-1"})
    assert error(wrong)[0] == "UNAUTHENTICATED"
    accepted = data(identity.query(ACCEPT, {"token": issued["token"], "password": GUS.password}))["acceptInvitation"]
    assert accepted["roles"] == ["Viewer"] and accepted["tenant"] == {"id": ACME}
    assert accepted["user"]["id"] == user_id("greenloop-admin")
    signed = data(identity.query(LOGIN, {"email": GUS.email, "password": GUS.password, "tenantId": ACME}))["login"]
    assert signed["roles"] == ["Viewer"]
    members = data(identity.query(MEMBERS, as_user="acme-admin"))["users"]["nodes"]
    assert user_id("greenloop-admin") in [m["id"] for m in members]
