"""Tokens of an external issuer (Keycloak-shaped): tenant and roles come from the token's claims."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.subgraphs.identity.conftest import Identity, serving_identity, tenant_id
from tests.support.oidc_issuer import OidcIssuer
from tokenauth.settings import verifier_settings_from_env

ACME, GREENLOOP = tenant_id("acme"), tenant_id("greenloop")


@pytest.fixture
def keycloak() -> Iterator[OidcIssuer]:
    with OidcIssuer(realm="partners") as issuer:
        yield issuer


@pytest.fixture
def trusting(keycloak: OidcIssuer, database_url_factory, tmp_path: Path) -> Iterator[Identity]:
    """Identity trusting ``keycloak`` besides itself: tenant in ``tenant``, roles in ``realm_access.roles``."""
    verifier = verifier_settings_from_env(
        {"OIDC_ISSUERS": keycloak.issuer, "OIDC_TENANT_CLAIM": "tenant", "OIDC_ROLES_CLAIM": "realm_access.roles"}
    )
    with serving_identity(database_url_factory("identity"), tmp_path / "data", verifier=verifier) as served:
        yield served


def test_external_token_maps_tenant_roles_and_scopes_from_claims(keycloak: OidcIssuer, trusting: Identity) -> None:
    token = keycloak.issue(tenant=ACME, realm_access={"roles": ["Manager"]}, scope="passport:restricted")
    status, body = trusting.context(token, policies="passport:publish")
    assert status == 200
    assert body == {
        "userId": "user-1",
        "email": "user-1@example.test",
        "tenantId": ACME,
        "roles": ["Manager"],
        "scopes": ["catalog:write", "passport:restricted", "passport:write", "templates:write"],
        "policies": [],
        "platformAdmin": False,
        "actingAsPlatformAdmin": False,
        "tenantClass": "enterprise",
        "sessionId": None,
        "expiresAt": body["expiresAt"],
    }
    # The tenant is the token's: another one through the header is refused.
    assert trusting.context(token, tenant=GREENLOOP)[0] == 403
    # Identity's own tokens still work beside it.
    assert trusting.context(trusting.token_for("acme-admin"))[0] == 200


def test_untrusted_or_forged_external_tokens_are_refused(keycloak: OidcIssuer, trusting: Identity) -> None:
    with OidcIssuer(realm="elsewhere") as stranger:
        assert trusting.context(stranger.issue(tenant=ACME))[0] == 401
    assert trusting.context(keycloak.issue(tenant=ACME, aud="someone-else"))[0] == 401
