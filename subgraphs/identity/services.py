"""What one running identity instance holds besides the database: issuer, sessions, login guard, invalidation.

Created once per :class:`~subgraphs.common.service.ServiceRuntime` (kept in its
``extra``), at app start, so the signing keys exist before the first request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson

from subgraphs.common.service import ServiceRuntime
from subgraphs.identity.issuer import ALGORITHM, Issuer, TokenRejected
from subgraphs.identity.ratelimit import LoginGuard
from subgraphs.identity.sessions import SessionStore
from tokenauth import IssuerConfig, TokenVerifier, VerifiedToken
from tokenauth.context import INVALIDATE_CHANNEL
from tokenauth.errors import InvalidToken

log = logging.getLogger("dpp.identity")
EXTRA_KEY = "identity.services"


class Invalidator:
    """Publishes on ``dpp:auth:invalidate`` when ``REDIS_URL`` is set, so every context cache drops at once."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url or None
        self._client: Any = None
        self.published = 0

    async def publish(self, reason: str, **detail: str | None) -> None:
        """Tell every listener that auth state changed (call after the change committed); never raises."""
        self.published += 1
        if self.redis_url is None:
            return
        try:
            if self._client is None:
                import redis.asyncio as redis

                self._client = redis.from_url(self.redis_url)
            await self._client.publish(INVALIDATE_CHANNEL, orjson.dumps({"reason": reason, **detail}))
        except Exception as exc:  # caches still expire on their own within AUTH_CONTEXT_TTL
            log.warning("could not publish an auth invalidation (%s): %s", reason, exc)

    async def aclose(self) -> None:
        """Close the Redis connection."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


@dataclass
class IdentityServices:
    """The issuer, sessions, login guard and invalidation of one identity instance."""

    runtime: ServiceRuntime
    issuer: Issuer
    sessions: SessionStore
    guard: LoginGuard
    invalidator: Invalidator
    _external: TokenVerifier | None = field(default=None, repr=False)
    _external_ready: bool = False

    @classmethod
    def create(cls, runtime: ServiceRuntime) -> IdentityServices:
        """Services for ``runtime``; the key file is created now if it does not exist yet."""
        settings = runtime.settings
        issuer = Issuer.from_settings(settings)
        issuer.keys.ring()
        services = cls(
            runtime=runtime,
            issuer=issuer,
            sessions=SessionStore(runtime.database, refresh_ttl=settings.refresh_token_ttl),
            guard=LoginGuard.from_settings(runtime.database, settings),
            invalidator=Invalidator(getattr(settings, "redis_url", "")),
        )
        runtime.closers.append(services.aclose)
        return services

    @property
    def own_issuer(self) -> IssuerConfig:
        """Our own issuer as tokenauth describes issuers."""
        return IssuerConfig(self.issuer.url, audiences=(self.issuer.audience,), algorithms=(ALGORITHM,))

    async def verify(self, token: str) -> VerifiedToken:
        """A verified token of ours (checked in-process) or of a trusted external issuer (``OIDC_ISSUERS``)."""
        if self.issuer.issued_here(token):
            try:
                claims = self.issuer.verify(token)
            except TokenRejected as exc:
                raise InvalidToken(exc.reason) from None
            scope = claims.get("scope") or ""
            return VerifiedToken(
                issuer=self.own_issuer,
                subject=str(claims["sub"]),
                claims=claims,
                tenant_id=claims.get("tid") or None,
                scopes=frozenset(scope.split() if isinstance(scope, str) else map(str, scope)),
                session_id=str(claims["sid"]),
                expires_at=int(claims["exp"]),
            )
        external = self._external_verifier()
        if external is None:
            raise InvalidToken("not issued by a trusted issuer")
        return await external.verify(token)

    def _external_verifier(self) -> TokenVerifier | None:
        if not self._external_ready:
            self._external_ready = True
            settings = self.runtime.settings.verifier  # OIDC_ISSUERS ...: the issuers this process trusts
            others = tuple(i for i in settings.issuers if i.issuer.rstrip("/") != self.issuer.url)
            if others:
                self._external = TokenVerifier(
                    others,
                    leeway=settings.leeway,
                    poll_interval=settings.poll_interval,
                    min_refresh_interval=settings.min_refresh_interval,
                )
        return self._external

    async def aclose(self) -> None:
        """Close the external verifier and the Redis connection."""
        if self._external is not None:
            await self._external.aclose()
        await self.invalidator.aclose()


def identity_services(runtime: ServiceRuntime) -> IdentityServices:
    """The services of ``runtime`` (created on first use)."""
    services = runtime.extra.get(EXTRA_KEY)
    if services is None:
        services = runtime.extra[EXTRA_KEY] = IdentityServices.create(runtime)
    return services
