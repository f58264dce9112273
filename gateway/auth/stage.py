"""The authentication stage of the edge: bearer token -> verified token -> caller context -> Principal.

No ``Authorization`` header: an anonymous principal (the authorization stage decides what
anonymous callers see). A header that is not ``Bearer <token>``, or a token that fails any
check: :class:`EdgeRejection` 401 ``UNAUTHENTICATED`` with always the same message (the
reason goes to the log only). A valid token: when ``auth.context_url`` is set, identity's
``/auth/context`` says what the caller may do now in the tenant asked for with ``X-Tenant-ID``
(403 ``FORBIDDEN`` for a tenant they are not a member of, 503 ``AUTHENTICATION_UNAVAILABLE``
when identity cannot be asked); without it the principal is built from the token's claims.

The stage also counts the request against its rate limit: per tenant by tenant class, per
user for a user without tenant, per client address for anonymous callers (429 ``RATE_LIMITED``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.auth.config import TENANT_CLASSES
from gateway.auth.ratelimit import RateLimiter, build_rate_limiter
from gateway.contracts import ANONYMOUS, Principal
from gateway.settings import Settings
from tokenauth import (
    INVALID_TOKEN_MESSAGE,
    CallerContext,
    CallerContextClient,
    ContextUnavailable,
    InvalidToken,
    NotAMember,
    TokenVerifier,
    VerifiedToken,
)
from tokenauth.errors import NOT_A_MEMBER_MESSAGE

log = logging.getLogger("gateway.auth")
audit_log = logging.getLogger("gateway.audit")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
RATE_LIMITED = "RATE_LIMITED"
AUTHENTICATION_UNAVAILABLE = "AUTHENTICATION_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "Authentication is temporarily unavailable; try again shortly"
TENANT_HEADER = "x-tenant-id"

# Tenant ids are UUIDs or slugs; anything else cannot name a tenant the caller belongs to.
_TENANT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class EdgeRejection(Exception):
    """The edge refuses a request before it runs: an HTTP status and a GraphQL error with a stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})


def _unauthenticated(error: str | None) -> EdgeRejection:
    # RFC 6750: a request without usable credentials gets the bare challenge; a bad token, invalid_token.
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return EdgeRejection(401, UNAUTHENTICATED, INVALID_TOKEN_MESSAGE, {"www-authenticate": challenge})


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Who a request runs for: the principal, plus what the edge needs for limits, audit and forwarding."""

    principal: Principal
    context: CallerContext | None = None
    # the tenant chosen with X-Tenant-ID and accepted (forwarded to subgraphs); None otherwise
    tenant_header: str | None = None
    rate_key: str = ""
    tenant_class: str | None = None
    # the token's exp (seconds since the epoch); None for anonymous callers. Subscriptions end there.
    expires_at: int | None = None

    @property
    def acting_as_platform_admin(self) -> bool:
        """True when a platform administrator acts in a tenant they are not a member of."""
        return self.context is not None and self.context.acting_as_platform_admin


class AuthStage:
    """Verifier, caller-context client and rate limiter of one gateway process.

    Built from settings; the server's lifespan calls :meth:`aclose` at shutdown. The
    token verifier and context client open their HTTP clients on first use, inside the
    event loop that serves requests.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        verifier: TokenVerifier | None = None,
        context_client: CallerContextClient | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._settings = settings
        self.verifier = verifier or TokenVerifier(
            settings.auth_issuers,
            leeway=settings.auth_leeway,
            poll_interval=settings.auth_jwks_poll_interval,
            min_refresh_interval=settings.auth_jwks_min_refresh_interval,
        )
        if context_client is None and settings.auth_context_url:
            context_client = CallerContextClient(
                settings.auth_context_url, ttl=settings.auth_context_ttl, redis_url=settings.redis_url
            )
        self.context_client = context_client
        self.limiter = limiter or build_rate_limiter(settings.rate_limit_window, settings.redis_url)

    async def authenticate(
        self, headers: Mapping[str, str], client_address: str, policy_names: Iterable[str] = ()
    ) -> Authenticated:
        """The principal of a request (``headers`` with lower-case names); raises :class:`EdgeRejection`."""
        authorization = headers.get("authorization")
        if authorization is None:
            return Authenticated(ANONYMOUS, rate_key=f"addr:{client_address}")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            log.info("request refused: authorization header is not 'Bearer <token>'")
            raise _unauthenticated(None if scheme.lower() != "bearer" else "invalid_token")
        try:
            verified = await self.verifier.verify(token)
        except InvalidToken as exc:
            log.info("token refused: %s", exc.reason)
            raise _unauthenticated("invalid_token") from None
        except ContextUnavailable as exc:
            log.warning("token not checked, issuer unavailable: %s", exc.reason)
            raise _unavailable() from None
        tenant = headers.get(TENANT_HEADER) or None
        if tenant is not None and not _TENANT_ID.match(tenant):
            raise EdgeRejection(403, FORBIDDEN, NOT_A_MEMBER_MESSAGE)
        if self.context_client is None:
            return _from_claims(verified, tenant)
        try:
            context = await self.context_client.resolve(token, tenant, policy_names)
        except InvalidToken as exc:
            log.info("token refused by identity: %s", exc.reason)
            raise _unauthenticated("invalid_token") from None
        except NotAMember as exc:
            log.info("user %s refused in tenant %s: %s", verified.subject, tenant, exc.message)
            raise EdgeRejection(403, FORBIDDEN, NOT_A_MEMBER_MESSAGE) from None
        except ContextUnavailable as exc:
            log.warning("caller context unavailable: %s", exc.reason)
            raise _unavailable() from None
        return _from_context(context, tenant)

    async def check_rate(self, who: Authenticated) -> None:
        """Count the request against its limit; :class:`EdgeRejection` 429 past it."""
        if who.principal.authenticated:
            limit = self._settings.rate_limit_for(who.tenant_class)
        else:
            limit = self._settings.rate_limit_anonymous
        if limit <= 0 or not who.rate_key:
            return
        decision = await self.limiter.hit(who.rate_key, limit)
        if decision.allowed:
            return
        log.info("rate limit: %s over %d requests per %gs", who.rate_key, limit, self.limiter.window)
        raise EdgeRejection(
            429,
            RATE_LIMITED,
            f"Rate limit exceeded; retry in {decision.retry_after} s",
            {"retry-after": str(decision.retry_after)},
            {"retryAfter": decision.retry_after},
        )

    def log_configuration(self) -> None:
        """Say at startup whom the gateway trusts and how it limits (keys are fetched on first use)."""
        settings = self._settings
        log.info("trusted token issuers: %s", ", ".join(i.issuer for i in self.verifier.issuers))
        if self.context_client is None:
            log.info("caller context: the tokens' claims only (auth.context_url is not set)")
        else:
            log.info("caller context: %s, cached %g s", self.context_client.url, settings.auth_context_ttl)
        limits = {c: settings.rate_limit_for(c) for c in TENANT_CLASSES} | {"anonymous": settings.rate_limit_anonymous}
        counted = "in Redis" if settings.redis_url else "in memory"
        log.info(
            "rate limits per %g s (0 = none), counted %s: %s",
            settings.rate_limit_window,
            counted,
            ", ".join(f"{name} {limit}" for name, limit in limits.items()),
        )

    async def aclose(self) -> None:
        """Close the verifier's, the context client's and the limiter's connections."""
        await self.verifier.aclose()
        if self.context_client is not None:
            await self.context_client.aclose()
        await self.limiter.aclose()


def _unavailable() -> EdgeRejection:
    return EdgeRejection(503, AUTHENTICATION_UNAVAILABLE, UNAVAILABLE_MESSAGE, {"retry-after": "1"})


def _rate_key(tenant_id: str | None, user_id: str) -> str:
    return f"tenant:{tenant_id}" if tenant_id else f"user:{user_id}"


def _from_claims(verified: VerifiedToken, tenant: str | None) -> Authenticated:
    """Without identity to ask, only the token's own tenant can be acted in."""
    if tenant is not None and tenant != verified.tenant_id:
        log.info("user %s refused in tenant %s: not the token's tenant", verified.subject, tenant)
        raise EdgeRejection(403, FORBIDDEN, NOT_A_MEMBER_MESSAGE)
    principal = Principal(
        authenticated=True, scopes=verified.scopes, user_id=verified.subject, tenant_id=verified.tenant_id
    )
    return Authenticated(
        principal,
        tenant_header=tenant,
        rate_key=_rate_key(verified.tenant_id, verified.subject),
        expires_at=verified.expires_at,
    )


def _from_context(context: CallerContext, tenant: str | None) -> Authenticated:
    principal = Principal(
        authenticated=True,
        scopes=context.scopes,
        policies=context.policies,
        user_id=context.user_id,
        tenant_id=context.tenant_id,
    )
    return Authenticated(
        principal,
        context=context,
        tenant_header=tenant,
        rate_key=_rate_key(context.tenant_id, context.user_id),
        tenant_class=context.tenant_class,
        expires_at=context.expires_at,
    )


def audit(
    who: Authenticated,
    request_id: str,
    operation_type: str | None,
    operation_name: str | None,
    outcome_codes: Iterable[str],
) -> None:
    """One audit line (logger ``gateway.audit``) for a mutation, and for anything a platform
    administrator does in a tenant they are not a member of (``platform-admin-act``)."""
    admin_act = who.acting_as_platform_admin
    if operation_type != "mutation" and not admin_act:
        return
    codes = sorted(set(outcome_codes))
    audit_log.info(
        "%s tenant=%s user=%s operation=%s name=%s result=%s request=%s",
        "platform-admin-act" if admin_act else "mutation",
        who.principal.tenant_id or "-",
        who.principal.user_id or "anonymous",
        operation_type or "-",
        operation_name or "-",
        "error:" + ",".join(codes) if codes else "ok",
        request_id,
    )
