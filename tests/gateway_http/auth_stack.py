"""A gateway in front of the real identity and catalog subgraphs, for the authentication tests.

Identity is the development issuer (RS256 keys in the test's data folder, ``/auth/context``);
two in-test OIDC issuers stand for Keycloak: ``partner`` (one realm, tenant in the ``tid``
claim, roles in ``realm_access.roles``) and a realm named after a tenant (one realm per tenant,
tenant from the issuer URL). All three are trusted by configuration alone: the gateway's
``auth.issuers`` and the subgraphs' verifier settings (``OIDC_*``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.serve import build_app, build_server
from gateway.settings import Settings
from subgraphs.common import demo
from tests.support.identity import IdentityIssuer, serving_identity
from tests.support.oidc_issuer import OidcIssuer
from tests.support.servers import ServerThread
from tests.support.subgraphs import running_subgraph
from tokenauth import IssuerConfig
from tokenauth.settings import VerifierSettings

ROOT = Path(__file__).resolve().parents[2]
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"
ROLES_CLAIM = "realm_access.roles"
# A realm named by a tenant id (ULID): the tenant comes from the issuer; "partner" does not match.
TENANT_REALM = r"^http://127\.0\.0\.1:\d+/realms/(?P<tenant>[0-9A-Z]{26})$"


@dataclass
class AuthStack:
    """The running servers and the issuer settings that trust them."""

    identity: IdentityIssuer
    identity_data: Path
    catalog_url: str
    partner: OidcIssuer
    tenant_realm: OidcIssuer

    def issuers(self) -> list[IssuerConfig]:
        """Identity, the partner realm and the tenant realm, as the gateway's ``auth.issuers``."""
        return [
            IssuerConfig(self.identity.base_url, audiences=("dpp",)),
            IssuerConfig(self.partner.issuer, audiences=("dpp",), roles_claim=ROLES_CLAIM),
            IssuerConfig(
                self.tenant_realm.issuer,
                audiences=("dpp",),
                tenant_claim=None,
                tenant_from_issuer=TENANT_REALM,
                roles_claim=ROLES_CLAIM,
            ),
        ]

    def settings(self, **overrides: Any) -> Settings:
        """Gateway settings over the committed supergraph, reaching identity and catalog."""
        values: dict[str, Any] = {
            "supergraph": SUPERGRAPH,
            "poll_interval": 0,
            "log_level": "warning",
            "subgraph_urls": {"identity": self.identity.url, "catalog": self.catalog_url},
            "auth_issuers": self.issuers(),
            "auth_context_url": self.identity.base_url + "/auth/context",
            "auth_context_ttl": 1.0,
            "auth_jwks_min_refresh_interval": 0,
        }
        values.update(overrides)
        return Settings.from_mapping(values)


@contextlib.contextmanager
def auth_stack(root: Path, *, context_ttl: float | None = None, redis_url: str = "") -> Iterator[AuthStack]:
    """Serve identity (its own issuer) and catalog, both trusting the two in-test realms.

    ``context_ttl``: how long catalog caches a caller's context (its default otherwise);
    ``redis_url``: where identity announces changes (and catalog listens).
    """
    acme = demo.tenant("acme").id
    with OidcIssuer(realm="partner") as partner, OidcIssuer(realm=acme) as tenant_realm:
        external = (
            IssuerConfig(partner.issuer, audiences=("dpp",), roles_claim=ROLES_CLAIM),
            IssuerConfig(
                tenant_realm.issuer, audiences=("dpp",), tenant_from_issuer=TENANT_REALM, roles_claim=ROLES_CLAIM
            ),
        )
        data = root / "identity-data"
        data.mkdir()
        identity_db = f"sqlite+aiosqlite:///{(root / 'identity.db').as_posix()}"
        # tests rotate keys right after a fetch: no floor between JWKS refreshes (production keeps 10 s)
        verifier = VerifierSettings(issuers=external, min_refresh_interval=0)
        with serving_identity(identity_db, data, verifier=verifier, redis_url=redis_url) as identity:
            catalog_settings = identity.overrides()
            own = catalog_settings["verifier"].issuers
            catalog_settings["verifier"] = VerifierSettings(issuers=(*own, *external), min_refresh_interval=0)
            if context_ttl is not None:
                catalog_settings["auth_context_ttl"] = context_ttl
            catalog_settings["redis_url"] = redis_url
            catalog_db = f"sqlite+aiosqlite:///{(root / 'catalog.db').as_posix()}"
            with running_subgraph("catalog", catalog_db, **catalog_settings) as catalog:
                yield AuthStack(identity, data, catalog.url + "/graphql", partner, tenant_realm)


@dataclass
class Served:
    """A gateway started by :func:`serving_gateway`."""

    url: str
    settings: Settings

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
        **headers: str,
    ) -> httpx.Response:
        """POST one operation (``tenant``: the X-Tenant-ID header)."""
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        if tenant is not None:
            headers["x-tenant-id"] = tenant
        return httpx.post(
            self.url + "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"accept": "application/json", **headers},
            timeout=30,
        )


@contextlib.contextmanager
def serving_gateway(settings: Settings) -> Iterator[Served]:
    """The production app (:func:`gateway.serve.build_app`) with ``settings``, on loopback."""
    app = build_app(settings)
    with ServerThread(app, build_server(settings, app)) as server:
        yield Served(server.url, settings)
