"""Sessions: refresh tokens rotate, a reused one revokes the whole family, logout revokes, invitations work once."""

from __future__ import annotations

from tests.subgraphs.identity.conftest import Identity, data, error, user_id

REFRESH = """mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken roles } }"""
LOGOUT = "mutation { logout { revokedSessions } }"
LOGOUT_EVERYWHERE = "mutation { logoutEverywhere { revokedSessions } }"
INVALID = ("UNAUTHENTICATED", "this refresh token is not valid any more; sign in again")
UNAUTHENTICATED = {"errors": [{"message": "Invalid or expired token", "extensions": {"code": "UNAUTHENTICATED"}}]}


def _refresh(identity: Identity, token: str) -> dict:
    return identity.query(REFRESH, {"token": token})


def test_refresh_rotates_and_reuse_revokes_the_whole_family(identity: Identity) -> None:
    first = identity.login("acme-manager")
    second = data(_refresh(identity, first["refreshToken"]))["refreshToken"]
    assert second["refreshToken"] != first["refreshToken"] and second["roles"] == ["Manager"]
    third = data(_refresh(identity, second["refreshToken"]))["refreshToken"]
    assert identity.context(third["accessToken"])[0] == 200
    # The first token again: someone replayed it. The family dies, including its newest members.
    assert error(_refresh(identity, first["refreshToken"])) == INVALID
    assert error(_refresh(identity, third["refreshToken"])) == INVALID
    for access in (first["accessToken"], second["accessToken"], third["accessToken"]):
        assert identity.context(access) == (401, UNAUTHENTICATED)
    rows = identity.sql("SELECT revoked_reason FROM identity_sessions WHERE revoked_at IS NOT NULL")
    assert rows == [("refresh_reuse",)]
    # Only hashes are stored.
    stored = [row[0] for row in identity.sql("SELECT token_hash FROM identity_refresh_tokens")]
    assert len(stored) == 3 and first["refreshToken"] not in stored and all(len(h) == 64 for h in stored)
    # Another session of the same user is untouched.
    assert identity.context(identity.login("acme-manager")["accessToken"])[0] == 200


def test_unknown_refresh_tokens_and_access_tokens_are_refused(identity: Identity) -> None:
    login = identity.login("acme-viewer")
    assert error(_refresh(identity, "rt_not-a-token")) == INVALID
    assert error(_refresh(identity, login["accessToken"])) == INVALID
    assert identity.context(login["accessToken"])[0] == 200  # no family was harmed


def test_logout_revokes_the_session_at_once(identity: Identity) -> None:
    login = identity.login("acme-admin")
    other = identity.login("acme-admin")
    assert data(identity.query(LOGOUT, token=login["accessToken"])) == {"logout": {"revokedSessions": 1}}
    assert identity.context(login["accessToken"]) == (401, UNAUTHENTICATED)
    assert error(_refresh(identity, login["refreshToken"])) == INVALID
    assert identity.context(other["accessToken"])[0] == 200
    audit = identity.sql("SELECT user_id, result FROM identity_audit_log WHERE action = 'logout'")
    assert audit == [(user_id("acme-admin"), "OK")]


def test_logout_everywhere_revokes_every_session_of_the_account(identity: Identity) -> None:
    sessions = [identity.login("acme-viewer") for _ in range(3)]
    other_user = identity.login("acme-manager")
    body = identity.query(LOGOUT_EVERYWHERE, token=sessions[0]["accessToken"])
    assert data(body) == {"logoutEverywhere": {"revokedSessions": 3}}
    for session in sessions:
        assert identity.context(session["accessToken"])[0] == 401
        assert error(_refresh(identity, session["refreshToken"])) == INVALID
    assert identity.context(other_user["accessToken"])[0] == 200


def test_logout_needs_a_signed_in_caller(identity: Identity) -> None:
    assert error(identity.query(LOGOUT))[0] == "UNAUTHENTICATED"


INVITE = (
    """mutation($email: String!) { inviteUser(input: {email: $email, name: "Nina New", roles: ["Viewer"]}) { id } }"""
)
ISSUE = "mutation($id: ID!) { issueInvitation(userId: $id) { token expiresAt } }"
ACCEPT = """mutation($token: String!, $password: String!) {
  acceptInvitation(token: $token, password: $password) { accessToken roles user { status } }
}"""


def test_invitations_are_opaque_and_single_use(identity: Identity) -> None:
    invited = data(identity.query(INVITE, {"email": "nina@acme.example"}, as_user="acme-admin"))["inviteUser"]
    token = data(identity.query(ISSUE, {"id": invited["id"]}, as_user="acme-admin"))["issueInvitation"]["token"]
    assert token.startswith("inv_") and "." not in token
    # A refused acceptance (weak password) leaves the invitation usable.
    assert error(identity.query(ACCEPT, {"token": token, "password": "short"}))[0] == "BAD_USER_INPUT"
    accepted = data(identity.query(ACCEPT, {"token": token, "password": "Nina-Strong-2026"}))["acceptInvitation"]
    assert (accepted["roles"], accepted["user"]["status"]) == (["Viewer"], "ACTIVE")
    assert identity.context(accepted["accessToken"])[1]["roles"] == ["Viewer"]
    again = identity.query(ACCEPT, {"token": token, "password": "Nina-Other-2026"})
    assert error(again) == ("UNAUTHENTICATED", "this invitation is not valid (unknown, expired or already used)")
    assert token not in str(identity.sql("SELECT token_hash FROM identity_invitations"))


def test_expired_sessions_are_purged_at_the_next_sign_in(identity: Identity) -> None:
    old = identity.login("acme-viewer")
    identity.execute("UPDATE identity_sessions SET expires_at = '2020-01-01 00:00:00+00:00'")
    assert error(_refresh(identity, old["refreshToken"])) == INVALID  # an expired session does not refresh
    assert identity.context(old["accessToken"]) == (401, UNAUTHENTICATED)  # nor speak for its access tokens
    identity.login("acme-viewer")
    assert identity.sql("SELECT count(*) FROM identity_sessions") == [(1,)]
    assert identity.sql("SELECT count(*) FROM identity_refresh_tokens") == [(1,)]
