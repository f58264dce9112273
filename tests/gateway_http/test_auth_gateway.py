"""Authentication at the gateway, against real servers: the gateway (production app and runtime),
identity as the development issuer with ``/auth/context``, catalog, and two in-test OIDC realms.

The JWT attack corpus gets 401 with one identical body; ``X-Tenant-ID`` switches between tenants
the user belongs to and is FORBIDDEN otherwise; a platform administrator acting in another tenant
is audited as such; identity being down is a 503 with a stable code; external realms (one realm
with a tenant claim, one realm per tenant) are trusted by configuration alone, key rotations
included; rate limits follow the tenant class identity reports.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from subgraphs.common import demo
from subgraphs.identity.keys import KeyStore
from tests.support.oidc_issuer import new_key
from tests.support.request_id import checked, expected, untagged

from .auth_stack import AuthStack, Served, auth_stack, serving_gateway
from .harness import closed_port

ME = "{ me { email memberships { active tenant { id } } } }"
PRODUCTS = "{ products(first: 1) { totalCount } }"
UNAUTHENTICATED_BODY = {"errors": [{"message": "Invalid or expired token", "extensions": {"code": "UNAUTHENTICATED"}}]}
FORBIDDEN_BODY = {"errors": [{"message": "You are not a member of that tenant", "extensions": {"code": "FORBIDDEN"}}]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    with auth_stack(tmp_path_factory.mktemp("auth-stack")) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(stack: AuthStack) -> Iterator[Served]:
    with serving_gateway(stack.settings()) as gw:
        yield gw


def active_tenant(body: dict[str, Any]) -> str:
    assert "errors" not in body, body
    return next(m["tenant"]["id"] for m in body["data"]["me"]["memberships"] if m["active"])


def products_of(tenant_key: str) -> int:
    return sum(1 for p in demo.PRODUCTS if p.tenant_key == tenant_key)


# -- forging ----------------------------------------------------------------------------------------


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def sign(key: RSAKey | ECKey, claims: dict[str, Any], kid: str | None) -> str:
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def attack_corpus(stack: AuthStack, token: str, refresh_token: str) -> dict[str, str]:
    """Every way a token can be wrong, built from a real access token of identity and its real keys."""
    header, claims = unverified(token)
    signing = KeyStore(stack.identity_data, retain_seconds=3600).current()
    kid = signing.kid
    now = int(time.time())
    public_pem = signing.key.get_op_key("verify").public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    hs_input = f"{b64(hs_header)}.{b64(claims)}".encode()
    hs_signature = hmac.new(public_pem, hs_input, hashlib.sha256).digest()
    head, body, signature = token.split(".")
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    flipped[7] ^= 0x01
    stranger = new_key("RS256")
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}.",
        "alg none with a signature": f"{b64({'alg': 'none', 'kid': kid})}.{b64(claims)}.{b64(b'sig')}",
        "HS256 keyed with the RSA public key": f"{hs_input.decode()}.{b64(hs_signature)}",
        "unknown kid": sign(stranger, claims, "unknown-kid"),
        "identity's kid, another key": sign(stranger, claims, kid),
        "no kid, another key": sign(stranger, claims, None),
        "wrong issuer": sign(signing.key, {**claims, "iss": "http://evil.example"}, kid),
        "wrong audience": sign(signing.key, {**claims, "aud": "somebody-else"}, kid),
        "expired": sign(signing.key, {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}, kid),
        "not yet valid": sign(signing.key, {**claims, "nbf": now + 3600}, kid),
        "tampered payload": f"{head}.{b64({**claims, 'tid': demo.tenant('greenloop').id})}.{signature}",
        "tampered signature": f"{head}.{body}.{b64(bytes(flipped))}",
        "header of another alg": f"{b64({**header, 'alg': 'RS512'})}.{body}.{signature}",
        "refresh token": refresh_token,
        "garbage": "not-a-token",
        "three garbage segments": "a.b.c",
        "oversized": "a" * 20_000 + "." + "b" * 10 + "." + "c" * 10,
    }


def raw_post(base_url: str, query: str, authorization: str) -> tuple[int, Any]:
    """POST with an Authorization header exactly as given (no client-side validation)."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        body = json.dumps({"query": query})
        connection.request(
            "POST", "/graphql", body, {"content-type": "application/json", "authorization": authorization}
        )
        response = connection.getresponse()
        # each error's requestId checked against the response's x-request-id, then left out
        return response.status, untagged(json.loads(response.read()), response.headers["x-request-id"])
    finally:
        connection.close()


# -- the attack corpus ------------------------------------------------------------------------------


def test_a_valid_token_signs_in_and_no_token_is_anonymous(stack: AuthStack, gateway: Served) -> None:
    token = stack.identity.token_for("acme-admin")
    body = gateway.post(ME, token=token).json()
    assert body["data"]["me"]["email"] == "admin@acme.example"
    anonymous = gateway.post("{ categories { name } }")
    assert anonymous.status_code == 200 and "errors" not in anonymous.json()


def test_every_attack_is_401_with_the_same_body(stack: AuthStack, gateway: Served) -> None:
    signed_in = stack.identity.login("acme-admin", "acme")
    corpus = attack_corpus(stack, signed_in["accessToken"], signed_in["refreshToken"])
    answers = {name: gateway.post(ME, token=token) for name, token in corpus.items()}
    answers["bearer without token"] = gateway.post(ME, authorization="Bearer")
    answers["basic scheme"] = gateway.post(ME, authorization="Basic YWRtaW46YWRtaW4=")
    for name, response in answers.items():
        assert response.status_code == 401, name
        assert checked(response) == UNAUTHENTICATED_BODY, name  # the same body but for the request's id
        assert response.headers["www-authenticate"].startswith("Bearer"), name
    assert answers["basic scheme"].headers["www-authenticate"] == "Bearer"
    assert answers["expired"].headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # httpx refuses to send a header value ending in a space; http.client sends it as written
    status, body = raw_post(gateway.url, ME, "Bearer ")
    assert (status, body) == (401, UNAUTHENTICATED_BODY)
    # the real token still works: the corpus failed on its defects, not on the setup
    assert gateway.post(ME, token=signed_in["accessToken"]).status_code == 200


def test_the_reason_is_logged_not_answered(stack: AuthStack, gateway: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.auth")
    token = stack.identity.token_for("acme-admin")
    _header, claims = unverified(token)
    signing = KeyStore(stack.identity_data, retain_seconds=3600).current()
    expired = sign(signing.key, {**claims, "exp": int(time.time()) - 3600}, signing.kid)
    refused = gateway.post(ME, token=expired)
    assert refused.json() == expected(UNAUTHENTICATED_BODY, refused)
    assert any("token refused: expired" in r.getMessage() for r in caplog.records)


# -- tenant context ---------------------------------------------------------------------------------


def test_x_tenant_id_picks_a_tenant_the_user_belongs_to(stack: AuthStack, gateway: Served) -> None:
    token = stack.identity.token_for("consultant", "acme")  # Viewer in Acme, Manager in GreenLoop
    acme, greenloop = demo.tenant("acme").id, demo.tenant("greenloop").id
    assert active_tenant(gateway.post(ME, token=token).json()) == acme
    assert active_tenant(gateway.post(ME, token=token, tenant=greenloop).json()) == greenloop
    switched = gateway.post(PRODUCTS, token=token, tenant=greenloop).json()
    assert switched["data"]["products"]["totalCount"] == products_of("greenloop")


@pytest.mark.parametrize("tenant", [demo.tenant("nordic").id, "01AAAAAAAAAAAAAAAAAAAAAAAA", "../../etc", "x" * 300])
def test_x_tenant_id_of_a_tenant_the_user_is_not_in_is_forbidden(
    stack: AuthStack, gateway: Served, tenant: str
) -> None:
    response = gateway.post(ME, token=stack.identity.token_for("consultant", "acme"), tenant=tenant)
    assert response.status_code == 403
    assert response.json() == expected(FORBIDDEN_BODY, response)


def test_platform_admin_acting_in_another_tenant_is_audited(
    stack: AuthStack, gateway: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.audit")
    root = next(u for u in demo.USERS if u.key == "root")
    greenloop = demo.tenant("greenloop").id
    body = gateway.post(PRODUCTS, token=stack.identity.token_for("root"), tenant=greenloop).json()
    assert body["data"]["products"]["totalCount"] == products_of("greenloop")
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.audit"]
    assert any(
        line.startswith(f"platform-admin-act tenant={greenloop} user={root.id} operation=query name=- result=ok")
        for line in lines
    ), lines
    caplog.clear()
    gateway.post(PRODUCTS, token=stack.identity.token_for("root"))  # root's own tenant: not such an act
    assert not [r for r in caplog.records if r.name == "gateway.audit"]


def test_every_mutation_leaves_an_audit_line(
    stack: AuthStack, gateway: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.audit")
    admin = next(u for u in demo.USERS if u.key == "acme-admin")
    sign_in = "mutation SignIn($e: String!, $p: String!) { login(email: $e, password: $p) { expiresIn } }"
    assert "errors" not in gateway.post(sign_in, {"e": admin.email, "p": admin.password}).json()
    denied = "mutation Feature($id: ID!) { featureProduct(id: $id, featured: true) { id } }"
    viewer = stack.identity.token_for("acme-viewer")
    assert gateway.post(denied, {"id": "nope"}, token=viewer).json()["errors"]
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.audit"]
    assert any(
        line.startswith("mutation tenant=- user=anonymous operation=mutation name=SignIn result=ok") for line in lines
    ), lines
    viewer_id = next(u for u in demo.USERS if u.key == "acme-viewer").id
    prefix = f"mutation tenant={demo.tenant('acme').id} user={viewer_id} operation=mutation name=Feature result=error:"
    assert any(line.startswith(prefix) for line in lines), lines


def test_identity_down_is_503_with_a_stable_code(stack: AuthStack) -> None:
    with closed_port() as port:
        settings = stack.settings(auth_context_url=f"http://127.0.0.1:{port}/auth/context")
        with serving_gateway(settings) as gw:
            response = gw.post(ME, token=stack.identity.token_for("acme-admin"))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["errors"][0]["extensions"] == {
        "code": "AUTHENTICATION_UNAVAILABLE",
        "requestId": response.headers["x-request-id"],
    }
    assert str(port) not in response.text


# -- other issuers, by configuration alone ----------------------------------------------------------


def test_a_partner_realm_with_a_tenant_claim_and_its_key_rotation(stack: AuthStack, gateway: Served) -> None:
    acme = demo.tenant("acme").id
    partner = stack.partner
    before = partner.issue(sub="partner-svc", tid=acme, realm_access={"roles": ["Viewer"]})
    assert gateway.post(PRODUCTS, token=before).json()["data"]["products"]["totalCount"] == products_of("acme")
    fetches = partner.state.jwks_fetches
    new_kid = partner.rotate()
    after = partner.issue(sub="partner-svc", tid=acme, realm_access={"roles": ["Viewer"]})
    assert unverified(after)[0]["kid"] == new_kid
    rotated = gateway.post(PRODUCTS, token=after).json()
    assert rotated["data"]["products"]["totalCount"] == products_of("acme"), rotated
    assert partner.state.jwks_fetches > fetches  # the unknown kid made the gateway fetch the JWKS again
    assert gateway.post(PRODUCTS, token=before).status_code == 200  # the old key is still published
    es256 = partner.issue(alg="ES256", sub="partner-svc", tid=acme, realm_access={"roles": ["Viewer"]})
    answer = gateway.post(PRODUCTS, token=es256).json()
    assert answer["data"]["products"]["totalCount"] == products_of("acme"), answer
    # a token of the partner realm naming a tenant it does not belong to gets nothing more
    outsider = partner.issue(sub="partner-svc", tid=acme)
    assert gateway.post(PRODUCTS, token=outsider, tenant=demo.tenant("greenloop").id).status_code == 403


def test_a_realm_per_tenant_gives_the_tenant_through_the_issuer(stack: AuthStack, gateway: Served) -> None:
    token = stack.tenant_realm.issue(sub="acme-user", tid=None, realm_access={"roles": ["Viewer"]})
    body = gateway.post(PRODUCTS, token=token).json()
    assert "errors" not in body, body
    assert body["data"]["products"]["totalCount"] == products_of("acme")


def test_the_development_issuer_rotates_its_key(stack: AuthStack, gateway: Served) -> None:
    old = stack.identity.login("acme-admin")["accessToken"]
    assert gateway.post(ME, token=old).status_code == 200
    KeyStore(stack.identity_data, retain_seconds=3600).rotate()
    new = stack.identity.login("acme-admin")["accessToken"]
    assert unverified(new)[0]["kid"] != unverified(old)[0]["kid"]
    assert gateway.post(ME, token=new).json()["data"]["me"]["email"] == "admin@acme.example"
    assert gateway.post(ME, token=old).status_code == 200


def test_an_untrusted_issuer_is_refused(stack: AuthStack, gateway: Served) -> None:
    from tests.support.oidc_issuer import OidcIssuer

    with OidcIssuer(realm="stranger") as stranger:
        response = gateway.post(ME, token=stranger.issue(tid=demo.tenant("acme").id))
    assert response.status_code == 401 and response.json() == expected(UNAUTHENTICATED_BODY, response)


# -- limits by tenant class -------------------------------------------------------------------------


def test_rate_limits_follow_the_tenant_class(stack: AuthStack) -> None:
    settings = stack.settings(
        rate_limit_standard=1, rate_limit_professional=2, rate_limit_enterprise=3, rate_limit_window=60
    )
    acme_admin = stack.identity.token_for("acme-admin")  # Acme: enterprise
    greenloop_admin = stack.identity.token_for("greenloop-admin")  # GreenLoop: professional
    with serving_gateway(settings) as gw:
        acme = [gw.post(ME, token=acme_admin).status_code for _ in range(4)]
        greenloop = [gw.post(ME, token=greenloop_admin).status_code for _ in range(3)]
        refused = gw.post(ME, token=greenloop_admin)
    assert acme == [200, 200, 200, 429]
    assert greenloop == [200, 200, 429]
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) >= 1
