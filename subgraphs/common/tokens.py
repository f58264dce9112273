"""The development token issuer and the verifier every subgraph uses.

Tokens are JWTs signed with HS256 and ``JWT_SECRET``. joserfc is the JOSE
library of the Authlib project (``authlib.jose`` is deprecated in its favour);
a later issue verifies tokens from an OIDC issuer against its JWKS instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from subgraphs.common.errors import Unauthenticated
from subgraphs.common.ids import new_id
from subgraphs.common.settings import Settings

ACCESS = "access"
REFRESH = "refresh"
INVITATION = "invitation"  # lets an invited user set a password once


@dataclass(frozen=True, slots=True)
class TokenSubject:
    """Who a token speaks for: the user, the active tenant and the roles held there."""

    user_id: str
    email: str
    tenant_id: str | None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    platform_admin: bool = False


class TokenService:
    """Issues and verifies dev tokens for one settings object."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._key = OctKey.import_key(settings.jwt_secret)

    def issue(self, subject: TokenSubject, kind: str = ACCESS) -> str:
        """A signed token of ``kind`` (access or refresh) for ``subject``."""
        now = int(time.time())
        ttl = self._settings.access_token_ttl if kind == ACCESS else self._settings.refresh_token_ttl
        claims: dict[str, Any] = {
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "sub": subject.user_id,
            "email": subject.email,
            "iat": now,
            "exp": now + ttl,
            "jti": new_id(),
            "typ": kind,
            "tid": subject.tenant_id,
            "roles": list(subject.roles),
            "scope": " ".join(subject.scopes),
            "padm": subject.platform_admin,
        }
        return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, self._key)

    def verify(self, token: str, kind: str = ACCESS) -> TokenSubject:
        """The subject of a valid token of ``kind``; ``Unauthenticated`` with the reason otherwise."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=["HS256"])
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(f"Invalid token: {exc.__class__.__name__}") from None
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self._settings.jwt_issuer},
            aud={"essential": True, "value": self._settings.jwt_audience},
            sub={"essential": True},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise Unauthenticated(f"Invalid token: {exc.description or exc.error}") from None
        if claims.get("typ") != kind:
            raise Unauthenticated(f"Invalid token: wrong kind of token ({claims.get('typ')!r} given, {kind!r} needed)")
        return TokenSubject(
            user_id=str(claims["sub"]),
            email=str(claims.get("email", "")),
            tenant_id=claims.get("tid"),
            roles=tuple(claims.get("roles") or ()),
            scopes=tuple(str(claims.get("scope") or "").split()),
            platform_admin=bool(claims.get("padm", False)),
        )
