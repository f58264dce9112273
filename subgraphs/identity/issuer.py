"""The development OIDC issuer: RS256 access tokens signed with the key store's current key.

Claims of an access token (the contract of issue 7): ``iss`` (``ISSUER_URL``),
``aud`` (``dpp``), ``sub`` (user id), ``email``, ``iat``, ``nbf``, ``exp``,
``jti``, ``sid`` (the session = refresh-token family), ``tid`` (the tenant chosen
at sign-in, or null), ``scope`` (the token's own scopes, normally empty for users)
and ``typ`` = ``access``; the header names the signing key (``kid``).

Identity also verifies its own tokens here, in-process, against the same key store
(other services go through ``tokenauth`` and the JWKS).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from subgraphs.common.ids import new_id
from subgraphs.identity.keys import ALGORITHM, KeyStore, key_store_for

ACCESS = "access"
# Accepted clock difference when identity checks its own tokens (the same default as tokenauth's OIDC_LEEWAY).
LEEWAY = 30


class TokenRejected(Exception):
    """A token identity does not accept; ``reason`` is for the log only, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__("Invalid or expired token")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed access token, its id and when it expires (epoch seconds)."""

    token: str
    jti: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class Issuer:
    """Signs and (in-process) verifies the development issuer's access tokens."""

    url: str
    audience: str
    access_ttl: int
    keys: KeyStore

    @classmethod
    def from_settings(cls, settings: Any) -> Issuer:
        """The issuer of a subgraph settings object (``ISSUER_URL``, ``ACCESS_TOKEN_TTL``, ``DATA_DIR``)."""
        return cls(
            url=str(settings.issuer_url).rstrip("/"),
            audience=str(settings.jwt_audience),
            access_ttl=int(settings.access_token_ttl),
            keys=key_store_for(settings),
        )

    @property
    def jwks_uri(self) -> str:
        """Where the public keys are served."""
        return f"{self.url}/.well-known/jwks.json"

    def discovery(self) -> dict[str, Any]:
        """The OpenID Provider metadata (``/.well-known/openid-configuration``)."""
        return {
            "issuer": self.url,
            "jwks_uri": self.jwks_uri,
            "token_endpoint": f"{self.url}/graphql",
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "grant_types_supported": ["password", "refresh_token"],
            "token_types_supported": ["access_token", "refresh_token"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": ["none"],
            "claims_supported": ["iss", "aud", "sub", "email", "iat", "nbf", "exp", "jti", "sid", "tid", "scope"],
        }

    def access_token(
        self, *, user_id: str, email: str, session_id: str, tenant_id: str | None, scopes: Iterable[str] = ()
    ) -> IssuedToken:
        """A signed access token for the user's session in ``tenant_id``."""
        key = self.keys.current()
        now = int(time.time())
        jti = new_id()
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": self.audience,
            "sub": user_id,
            "email": email,
            "iat": now,
            "nbf": now,
            "exp": now + self.access_ttl,
            "jti": jti,
            "sid": session_id,
            "tid": tenant_id,
            "scope": " ".join(sorted(set(scopes))),
            "typ": ACCESS,
        }
        token = jwt.encode({"alg": ALGORITHM, "typ": "JWT", "kid": key.kid}, claims, key.key)
        return IssuedToken(token=token, jti=jti, expires_at=now + self.access_ttl)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of one of our own valid access tokens; ``TokenRejected`` otherwise."""
        try:
            decoded = jwt.decode(token, self.keys.key_set(), algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError) as exc:
            raise TokenRejected(f"{type(exc).__name__}: {exc}") from None
        if decoded.header.get("kid") is None:
            raise TokenRejected("no kid in the header")
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": self.url},
            aud={"essential": True, "value": self.audience},
            sub={"essential": True},
            exp={"essential": True},
            sid={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise TokenRejected(f"{exc.error}: {exc.description}") from None
        if decoded.claims.get("typ") != ACCESS:
            raise TokenRejected(f"typ {decoded.claims.get('typ')!r} is not access")
        return dict(decoded.claims)

    def issued_here(self, token: str) -> bool:
        """Whether ``token`` claims to come from this issuer (read unverified, only to route it)."""
        return unverified_issuer(token) == self.url


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` claim of a JWT without checking anything (to route a token to its issuer only)."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    issuer = data.get("iss") if isinstance(data, dict) else None
    return issuer if isinstance(issuer, str) else None
