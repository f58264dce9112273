"""What a verifier trusts: one :class:`IssuerConfig` per token issuer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUPPORTED_ALGORITHMS: frozenset[str] = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"})


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    """One trusted issuer.

    ``jwks_uri`` None means OIDC discovery at ``{issuer}/.well-known/openid-configuration``.
    The tenant of a token comes from the ``(?P<tenant>...)`` group of ``tenant_from_issuer``
    matched against the issuer (one realm per tenant) or, when that is unset or does not match,
    from ``tenant_claim`` (one realm, tenant in a claim). ``roles_claim`` is a dotted path to
    the roles of an external issuer (Keycloak: ``realm_access.roles``).
    """

    issuer: str
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    jwks_uri: str | None = None
    tenant_claim: str | None = "tid"
    tenant_from_issuer: str | None = None
    roles_claim: str | None = None

    def __post_init__(self) -> None:
        if not self.issuer:
            raise ValueError("an issuer needs its URL")
        if not self.audiences:
            raise ValueError(f"issuer {self.issuer}: at least one audience is required")
        unsupported = [alg for alg in self.algorithms if alg not in SUPPORTED_ALGORITHMS]
        if unsupported or not self.algorithms:
            allowed = ", ".join(sorted(SUPPORTED_ALGORITHMS))
            raise ValueError(f"issuer {self.issuer}: algorithms must be among {allowed}, not {unsupported or '()'}")
        if self.tenant_from_issuer is not None and "(?P<tenant>" not in self.tenant_from_issuer:
            raise ValueError("tenant_from_issuer needs a (?P<tenant>...) group")

    @property
    def discovery_url(self) -> str:
        """Where the OIDC discovery document is."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def tenant_of(self, claims: Mapping[str, Any]) -> str | None:
        """The tenant a verified token speaks for, or None."""
        if self.tenant_from_issuer is not None:
            match = re.fullmatch(self.tenant_from_issuer, self.issuer)
            if match:
                return match.group("tenant")
        if self.tenant_claim is None:
            return None
        value = claim_at(claims, self.tenant_claim)
        return str(value) if isinstance(value, (str, int)) and value != "" else None

    def roles_of(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        """The roles an external issuer put into the token (empty without ``roles_claim``)."""
        if self.roles_claim is None:
            return ()
        value = claim_at(claims, self.roles_claim)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list):
            return tuple(str(item) for item in value)
        return ()


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` (``realm_access.roles``), or None when any step is missing."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value
