"""Identity as an OIDC issuer: discovery, JWKS, RS256 tokens that verify against it, key rotation."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.subgraphs.identity.conftest import Identity, tenant_id, user_id
from tokenauth import IssuerConfig, TokenVerifier

ACME = tenant_id("acme")


def _jwks(identity: Identity) -> dict:
    response = httpx.get(identity.base_url + "/.well-known/jwks.json", timeout=10)
    assert response.status_code == 200
    return response.json()


def test_discovery_document_names_the_issuer_and_its_keys(shared_identity: Identity) -> None:
    response = httpx.get(shared_identity.base_url + "/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == shared_identity.base_url
    assert document["jwks_uri"] == shared_identity.base_url + "/.well-known/jwks.json"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"access_token", "refresh_token"} <= set(document["token_types_supported"])


def test_jwks_serves_public_rsa_keys_only_with_a_short_cache_life(shared_identity: Identity) -> None:
    response = httpx.get(shared_identity.base_url + "/.well-known/jwks.json", timeout=10)
    assert response.headers["cache-control"] == "public, max-age=60"
    keys = response.json()["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}  # no d, p, q ...
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert len(key["kid"]) == 43  # an RFC 7638 SHA-256 thumbprint, base64url


def test_access_token_verifies_against_the_served_jwks_with_the_contract_claims(shared_identity: Identity) -> None:
    token = shared_identity.login("acme-admin")["accessToken"]
    keys = KeySet.import_key_set(_jwks(shared_identity))
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256" and decoded.header["kid"] == _jwks(shared_identity)["keys"][0]["kid"]
    claims = decoded.claims
    assert set(claims) == {"iss", "aud", "sub", "email", "iat", "nbf", "exp", "jti", "sid", "tid", "scope", "typ"}
    assert (claims["iss"], claims["aud"], claims["sub"], claims["tid"], claims["typ"]) == (
        shared_identity.base_url,
        "dpp",
        user_id("acme-admin"),
        ACME,
        "access",
    )
    assert claims["exp"] - claims["iat"] == 300 and claims["nbf"] == claims["iat"]
    # The same token through tokenauth, found by OIDC discovery, as the gateway and the subgraphs verify it.
    verifier = TokenVerifier([IssuerConfig(shared_identity.base_url, audiences=("dpp",))])

    async def verify() -> tuple[str, str | None, str | None]:
        try:
            verified = await verifier.verify(token)
            return verified.subject, verified.tenant_id, verified.session_id
        finally:
            await verifier.aclose()

    assert asyncio.run(verify()) == (user_id("acme-admin"), ACME, claims["sid"])


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(identity: Identity) -> None:
    old_token = identity.login("acme-viewer")["accessToken"]
    (old_key,) = _jwks(identity)["keys"]
    env = {**os.environ, "DATA_DIR": str(identity.data_dir)}
    rotated = subprocess.run(
        [sys.executable, "-m", "subgraphs.identity.keys", "rotate"], env=env, capture_output=True, text=True, check=True
    )
    printed = [key["kid"] for key in json.loads(rotated.stdout)["keys"]]
    served = [key["kid"] for key in _jwks(identity)["keys"]]
    assert served == printed and len(served) == 2 and served[1] == old_key["kid"]
    new_token = identity.login("acme-viewer")["accessToken"]
    keys = KeySet.import_key_set(_jwks(identity))
    assert jwt.decode(new_token, keys, algorithms=["RS256"]).header["kid"] == served[0]
    assert jwt.decode(old_token, keys, algorithms=["RS256"]).header["kid"] == old_key["kid"]
    # Both still count with identity itself.
    assert identity.context(old_token)[0] == 200
    assert identity.context(new_token)[0] == 200


def test_dpp_keys_show_prints_the_public_jwks(identity: Identity) -> None:
    env = {**os.environ, "DATA_DIR": str(identity.data_dir)}
    shown = subprocess.run(
        [sys.executable, "-m", "subgraphs.identity.keys", "show"], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(shown.stdout) == _jwks(identity)


def test_tokens_of_another_key_or_issuer_get_the_stable_401(shared_identity: Identity) -> None:
    from joserfc.jwk import RSAKey

    forged_key = RSAKey.generate_key(2048)
    kid = _jwks(shared_identity)["keys"][0]["kid"]
    claims = {"iss": shared_identity.base_url, "aud": "dpp", "sub": user_id("root"), "sid": "x", "exp": 4102444800}
    forged = jwt.encode({"alg": "RS256", "kid": kid}, {**claims, "typ": "access"}, forged_key)
    for token in (forged, "garbage", forged + "x"):
        assert shared_identity.context(token) == (
            401,
            {"errors": [{"message": "Invalid or expired token", "extensions": {"code": "UNAUTHENTICATED"}}]},
        )
