"""Who is calling a subgraph, decided by the subgraph itself: tokens verified against the issuers' JWKS,
roles and tenant from identity's current state, a forged tenant header ignored, the JWT attack corpus
refused directly at a subgraph, identity outages answered 503, demotions and deactivations felt within
the context cache's lifetime (or at once with Redis)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import SQLModel

from subgraphs.common import demo
from subgraphs.common.app import create_app
from subgraphs.common.db import Database
from subgraphs.common.settings import Settings
from tests.common import toy
from tests.common.test_jwt_attacks import CASES, Issuers
from tests.support.client import gql
from tests.support.identity import IdentityIssuer, serving_identity
from tests.support.oidc_issuer import OidcIssuer
from tests.support.redis import RedisServer
from tests.support.servers import ServerThread, free_port
from tokenauth import IssuerConfig
from tokenauth.settings import VerifierSettings

WHOAMI = "{ whoami { userId tenantId roles scopes policies platformAdmin actingAsPlatformAdmin tenantClass } }"
INVALID = {"errors": [{"message": "Invalid or expired token", "extensions": {"code": "UNAUTHENTICATED"}}]}


def _toy_database(directory: Path) -> str:
    url = f"sqlite+aiosqlite:///{(directory / 'toy.db').as_posix()}"

    async def run() -> None:
        database = Database(url)
        async with database.engine.begin() as conn:
            tables = [toy.Widget.__table__, toy.ToyAudit.__table__]
            await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=tables))
        await database.dispose()

    asyncio.run(run())
    return url


class Toy:
    """A toy subgraph server; ``post`` returns (status, body, headers)."""

    def __init__(self, url: str) -> None:
        self.url = url + "/graphql"

    def post(self, query: str, token: str | None = None, **headers: str) -> tuple[int, dict[str, Any], httpx.Headers]:
        sent = {k.replace("_", "-"): v for k, v in headers.items()}
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        response = httpx.post(self.url, json={"query": query}, headers=sent, timeout=30)
        return response.status_code, response.json(), response.headers

    def whoami(self, token: str | None = None, **headers: str) -> dict[str, Any]:
        status, body, _ = self.post(WHOAMI, token, **headers)
        assert status == 200 and "errors" not in body, body
        return body["data"]["whoami"]


def serve_toy(directory: Path, **overrides: Any) -> ServerThread:
    settings = dataclasses.replace(Settings.from_env("testtoy"), database_url=_toy_database(directory), **overrides)
    return ServerThread(create_app(toy.DEFINITION, settings)).start()


@pytest.fixture(scope="module")
def keycloak() -> Iterator[OidcIssuer]:
    with OidcIssuer(realm="partners") as issuer:
        yield issuer


@pytest.fixture
def toy_server(issuer: IdentityIssuer, keycloak: OidcIssuer, tmp_path: Path) -> Iterator[Toy]:
    """The toy subgraph trusting the session's identity and a Keycloak-shaped issuer."""
    overrides = issuer.overrides()
    trusted = (*overrides["verifier"].issuers, IssuerConfig(keycloak.issuer, audiences=("dpp",)))
    overrides["verifier"] = VerifierSettings(issuers=trusted)
    server = serve_toy(tmp_path, **overrides)
    try:
        yield Toy(server.url)
    finally:
        server.stop()


def test_a_signed_in_caller_gets_identitys_current_view(toy_server: Toy, issuer: IdentityIssuer) -> None:
    me = toy_server.whoami(issuer.token_for("acme-admin"))
    assert me["tenantId"] == demo.tenant("acme").id and me["roles"] == ["Admin"]
    assert {"catalog:write", "identity:admin"} <= set(me["scopes"])
    assert "passport:publish" in me["policies"] and me["tenantClass"] == "enterprise"
    manager = toy_server.whoami(issuer.token_for("acme-manager"))
    assert manager["roles"] == ["Manager"] and "identity:admin" not in manager["scopes"]
    assert manager["policies"] == []


def test_tenant_header_picks_a_membership_and_is_checked(toy_server: Toy, issuer: IdentityIssuer) -> None:
    consultant = issuer.token_for("consultant")  # Viewer in Acme (first), Manager in GreenLoop
    assert toy_server.whoami(consultant)["roles"] == ["Viewer"]
    green = toy_server.whoami(consultant, x_tenant_id=demo.tenant("greenloop").id)
    assert (green["tenantId"], green["roles"]) == (demo.tenant("greenloop").id, ["Manager"])
    status, body, _ = toy_server.post(WHOAMI, issuer.token_for("acme-admin"), x_tenant_id=demo.tenant("greenloop").id)
    assert status == 403
    assert body == {"errors": [{"message": "You are not a member of that tenant", "extensions": {"code": "FORBIDDEN"}}]}


def test_platform_admin_may_act_in_any_tenant_and_it_shows(toy_server: Toy, issuer: IdentityIssuer) -> None:
    me = toy_server.whoami(issuer.token_for("root"), x_tenant_id=demo.tenant("greenloop").id)
    assert me["platformAdmin"] and me["actingAsPlatformAdmin"] and me["tenantId"] == demo.tenant("greenloop").id
    assert "Admin" in me["roles"]


def test_a_forged_tenant_header_without_a_token_is_ignored(toy_server: Toy, issuer: IdentityIssuer) -> None:
    acme = issuer.token_for("acme-admin")
    assert gql(toy_server.url, 'mutation { addWidget(name: "secret") { id } }', token=acme)["data"]
    anonymous = toy_server.whoami(x_tenant_id=demo.tenant("acme").id, x_user_id="01ROOT")
    assert anonymous["userId"] is None and anonymous["tenantId"] is None and anonymous["roles"] == []
    status, body, _ = toy_server.post("{ widgets { name } }", x_tenant_id=demo.tenant("acme").id)
    assert (status, body) == (200, {"data": {"widgets": []}})


@pytest.mark.parametrize("case", list(CASES))
def test_jwt_attack_at_a_subgraph_is_refused_with_the_stable_401(
    case: str, toy_server: Toy, keycloak: OidcIssuer
) -> None:
    other = OidcIssuer(realm="other")  # not started, not trusted: only its keys and URL are used
    try:
        token = CASES[case](Issuers(keycloak, other))
    finally:
        other.sock.close()
    header = f"Bearer {token}".strip()  # an empty token is the bare scheme (httpx refuses trailing spaces)
    response = httpx.post(toy_server.url, json={"query": WHOAMI}, headers={"authorization": header})
    assert (response.status_code, response.json()) == (401, INVALID)


def test_a_valid_token_of_an_issuer_identity_does_not_know_is_refused(toy_server: Toy, keycloak: OidcIssuer) -> None:
    # The subgraph trusts the partner issuer's signature, but identity (without OIDC_ISSUERS) does not: 401.
    status, body, _ = toy_server.post(WHOAMI, keycloak.issue(tid=demo.tenant("acme").id))
    assert (status, body) == (401, INVALID)


def test_identity_down_is_503_with_a_stable_code(keycloak: OidcIssuer, tmp_path: Path) -> None:
    verifier = VerifierSettings(issuers=(IssuerConfig(keycloak.issuer, audiences=("dpp",)),))
    closed = f"http://127.0.0.1:{free_port()}"
    server = serve_toy(tmp_path, verifier=verifier, identity_url=closed)
    try:
        status, body, headers = Toy(server.url).post(WHOAMI, keycloak.issue())
    finally:
        server.stop()
    assert status == 503 and headers["retry-after"] == "1"
    message = "Authentication is temporarily unavailable; try again shortly"
    assert body == {"errors": [{"message": message, "extensions": {"code": "AUTHENTICATION_UNAVAILABLE"}}]}


# -- current state, mid-session --------------------------------------------------------------------

ASSIGN = "mutation($u: ID!, $r: [String!]!) { assignRoles(userId: $u, roles: $r) { id } }"
SET_STATUS = "mutation($id: ID!, $s: TenantStatus!) { setTenantStatus(id: $id, status: $s) { id status } }"
LOGOUT = "mutation { logout { revokedSessions } }"


@pytest.fixture
def private_identity(tmp_path: Path) -> Iterator[IdentityIssuer]:
    """An identity of this test alone (these tests change roles, statuses and sessions)."""
    with serving_identity(f"sqlite+aiosqlite:///{(tmp_path / 'identity.db').as_posix()}", tmp_path / "keys") as served:
        yield served


def _eventually(check: Callable[[], bool], seconds: float) -> float:
    """Seconds until ``check()`` held (fails after ``seconds``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "the change was not felt in time"
        time.sleep(0.05)
    return time.monotonic() - started


def test_demotion_and_deactivation_are_felt_within_the_context_ttl(
    private_identity: IdentityIssuer, tmp_path: Path
) -> None:
    ttl = 1.0
    server = serve_toy(tmp_path, **{**private_identity.overrides(), "auth_context_ttl": ttl})
    toy_server = Toy(server.url)
    try:
        admin, manager = private_identity.token_for("acme-admin"), private_identity.token_for("acme-manager")
        assert toy_server.whoami(manager)["roles"] == ["Manager"]
        demoted = gql(private_identity.url, ASSIGN, {"u": demo_user_id("acme-manager"), "r": ["Viewer"]}, token=admin)
        assert "errors" not in demoted, demoted
        waited = _eventually(lambda: toy_server.whoami(manager)["roles"] == ["Viewer"], ttl + 2)
        assert waited <= ttl + 1
        assert "catalog:write" not in toy_server.whoami(manager)["scopes"]

        root = private_identity.token_for("root")
        changed = gql(private_identity.url, SET_STATUS, {"id": demo.tenant("acme").id, "s": "DEACTIVATED"}, token=root)
        assert "errors" not in changed, changed
        _eventually(lambda: toy_server.post(WHOAMI, admin)[0] == 401, ttl + 2)
        assert toy_server.post(WHOAMI, admin)[1] == INVALID
    finally:
        server.stop()


def test_logout_is_felt_at_once_through_redis(tmp_path: Path, redis_server: RedisServer) -> None:
    # Identity publishes on dpp:auth:invalidate; the subgraph's cache (an hour here) drops at once.
    with serving_identity(
        f"sqlite+aiosqlite:///{(tmp_path / 'identity-r.db').as_posix()}",
        tmp_path / "keys-r",
        redis_url=redis_server.url,
    ) as identity:
        overrides = {**identity.overrides(), "auth_context_ttl": 3600.0, "redis_url": redis_server.url}
        server = serve_toy(tmp_path, **overrides)
        toy_server = Toy(server.url)
        try:
            token = identity.login("acme-viewer")["accessToken"]
            assert toy_server.whoami(token)["roles"] == ["Viewer"]
            time.sleep(0.3)  # the subscriber connects on the first request
            assert toy_server.whoami(token)["roles"] == ["Viewer"]  # cached now
            out = gql(identity.url, LOGOUT, token=token)
            assert "errors" not in out, out
            waited = _eventually(lambda: toy_server.post(WHOAMI, token)[0] == 401, 5)
            assert waited < 2
        finally:
            server.stop()


def demo_user_id(key: str) -> str:
    return next(u for u in demo.USERS if u.key == key).id
