"""A Keycloak-shaped OIDC issuer on loopback, for tests: discovery, JWKS, rotation, tokens with any claims.

It has its own RSA and EC keys, so tokens it signs are foreign to identity's issuer, and it counts
how often its JWKS is fetched so that tests can see caching and rate limiting at work.

```python
with OidcIssuer(realm="acme") as issuer:       # http://127.0.0.1:<port>/realms/acme
    token = issuer.issue({"tid": "T1"})          # RS256 with the current key
    issuer.rotate()                              # a new current key; old ones stay published
```
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.servers import ServerThread, free_socket

SigningKey = RSAKey | ECKey


@dataclass
class IssuerState:
    """What the issuer publishes; tests change it between requests."""

    keys: dict[str, SigningKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    current: dict[str, str] = field(default_factory=dict)  # alg family ("RS"/"ES") -> kid
    jwks_fetches: int = 0
    discovery_fetches: int = 0
    available: bool = True


def new_key(alg: str = "RS256", kid: str | None = None) -> SigningKey:
    """A fresh private key for ``alg`` with ``kid`` (random when None)."""
    kid = kid or uuid.uuid4().hex[:16]
    if alg.startswith(("RS", "PS")):
        return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": alg})
    curve = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[alg]
    return ECKey.generate_key(curve, parameters={"kid": kid, "use": "sig", "alg": alg})


class OidcIssuer:
    """A running issuer at ``self.issuer``; start with ``with`` or :meth:`start`."""

    def __init__(self, realm: str | None = "test", *, audience: str = "dpp", ec: bool = True) -> None:
        self.sock = free_socket()
        port = int(self.sock.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{port}"
        self.issuer = f"{self.base_url}/realms/{realm}" if realm else self.base_url
        self.audience = audience
        self.state = IssuerState()
        self.add_key(new_key("RS256"))
        if ec:
            self.add_key(new_key("ES256"))
        prefix = f"/realms/{realm}" if realm else ""
        self.app = Starlette(
            routes=[
                Route(f"{prefix}/.well-known/openid-configuration", self._discovery),
                Route(f"{prefix}/protocol/openid-connect/certs", self._jwks),
            ]
        )
        self.jwks_uri = f"{self.issuer}/protocol/openid-connect/certs"
        self._server: ServerThread | None = None

    # -- keys ---------------------------------------------------------------------------------------

    def add_key(self, key: SigningKey, *, current: bool = True, publish: bool = True) -> str:
        """Keep ``key`` (and publish it); it becomes the current key of its family when ``current``."""
        kid = str(key.kid)
        self.state.keys[kid] = key
        if publish and kid not in self.state.published:
            self.state.published.append(kid)
        if current:
            self.state.current[str(key.get("alg"))[:2]] = kid
        return kid

    def rotate(self, alg: str = "RS256") -> str:
        """A new current key for ``alg``'s family; the old ones stay in the JWKS. Returns the new kid."""
        return self.add_key(new_key(alg))

    def retire(self, kid: str) -> None:
        """Stop publishing ``kid`` (its tokens no longer verify once verifiers refetch)."""
        self.state.published.remove(kid)

    def key(self, alg: str = "RS256") -> SigningKey:
        """The current private key of ``alg``'s family."""
        return self.state.keys[self.state.current[alg[:2]]]

    # -- tokens -------------------------------------------------------------------------------------

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Valid access-token claims for a user of this issuer, with ``overrides`` (None deletes a claim)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "user-1",
            "email": "user-1@example.test",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "typ": "Bearer",
            "scope": "openid profile",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def issue(
        self,
        claims: dict[str, Any] | None = None,
        *,
        alg: str = "RS256",
        key: SigningKey | None = None,
        header: dict[str, Any] | None = None,
        kid: str | bool | None = True,
        **overrides: Any,
    ) -> str:
        """A token signed with ``key`` (default: the current key of ``alg``).

        ``claims`` replaces the default claims entirely; ``overrides`` adjust them. ``kid=True`` puts the
        signing key's kid into the header, ``False`` leaves it out, a string puts that string.
        """
        signing = key or self.key(alg)
        body = claims if claims is not None else self.claims(**overrides)
        protected: dict[str, Any] = {"alg": alg, "typ": "JWT"}
        if kid is True:
            protected["kid"] = signing.kid
        elif isinstance(kid, str):
            protected["kid"] = kid
        protected.update(header or {})
        return jwt.encode(protected, body, signing, algorithms=[alg])

    # -- server -------------------------------------------------------------------------------------

    async def _discovery(self, _request: Request) -> JSONResponse:
        self.state.discovery_fetches += 1
        if not self.state.available:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        return JSONResponse(
            {
                "issuer": self.issuer,
                "jwks_uri": self.jwks_uri,
                "authorization_endpoint": f"{self.issuer}/protocol/openid-connect/auth",
                "token_endpoint": f"{self.issuer}/protocol/openid-connect/token",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }
        )

    async def _jwks(self, _request: Request) -> JSONResponse:
        self.state.jwks_fetches += 1
        if not self.state.available:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        keys = [self.state.keys[kid].as_dict(private=False) for kid in self.state.published]
        return JSONResponse({"keys": keys})

    def start(self) -> OidcIssuer:
        """Serve on loopback."""
        self._server = ServerThread(self.app, sock=self.sock).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> OidcIssuer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
