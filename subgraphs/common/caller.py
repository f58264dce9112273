"""Caller identity: the one place that decides who is calling.

Every subgraph builds its :class:`Caller` here from the request headers. Nothing
else reads ``Authorization``; resolvers and domain code ask the caller object.
The token is verified against the trusted issuers' JWKS and the caller's roles,
scopes and policies come from identity's current state (``subgraphs.common.tokens``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from subgraphs.common.errors import DomainError, Forbidden, Unauthenticated
from tokenauth import INVALID_TOKEN_MESSAGE, CallerContext, ContextUnavailable, InvalidToken, NotAMember

if TYPE_CHECKING:
    from subgraphs.common.tokens import SubgraphAuth

log = logging.getLogger("dpp.auth")

ADMIN = "Admin"
MANAGER = "Manager"
VIEWER = "Viewer"
DEFAULT_ROLES: tuple[str, ...] = (ADMIN, MANAGER, VIEWER)
# Roles that imply others: an Admin may do whatever a Manager may, and so on.
_ROLE_RANK = {VIEWER: 1, MANAGER: 2, ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a user acting in one tenant with its roles, or anonymous."""

    user_id: str | None = None
    email: str | None = None
    tenant_id: str | None = None
    roles: tuple[str, ...] = ()
    # The effective scopes: the token's own plus those the roles give in the active tenant.
    scopes: frozenset[str] = frozenset()
    # The granted policies (``object:action``) identity evaluated for this caller in the active tenant.
    policies: frozenset[str] = frozenset()
    platform_admin: bool = False
    # True when a platform admin acts in a tenant they are not a member of (audited as such).
    acting_as_platform_admin: bool = False
    tenant_class: str | None = None
    # The session (refresh-token family) the access token belongs to.
    session_id: str | None = None
    # The bearer token the caller presented, kept only so that a subgraph calling
    # another one on the caller's behalf can forward it (never logged: repr=False).
    credentials: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_anonymous(self) -> bool:
        """True when no valid token came with the request."""
        return self.user_id is None

    def has_role(self, role: str) -> bool:
        """Holds ``role`` or a stronger one in the active tenant."""
        needed = _ROLE_RANK.get(role, 99)
        return any(_ROLE_RANK.get(r, 0) >= needed for r in self.roles)

    def has_scope(self, scope: str) -> bool:
        """True when ``scope`` is among the caller's effective scopes."""
        return scope in self.scopes

    def has_policy(self, policy: str) -> bool:
        """True when identity granted ``policy`` (``object:action``) to the caller in the active tenant."""
        return policy in self.policies

    def require_user(self) -> str:
        """The user id; ``UNAUTHENTICATED`` for anonymous callers."""
        if self.user_id is None:
            raise Unauthenticated("Sign in to do this")
        return self.user_id

    def require_tenant(self) -> str:
        """The active tenant id; errors when anonymous or not acting in a tenant."""
        self.require_user()
        if self.tenant_id is None:
            raise Forbidden("This needs an active tenant; log in with a tenant")
        return self.tenant_id

    def require_role(self, role: str) -> str:
        """The active tenant id, provided the caller holds ``role`` (or stronger) there."""
        tenant_id = self.require_tenant()
        if not self.has_role(role) and not self.platform_admin:
            raise Forbidden(f"This needs the {role} role in the active tenant")
        return tenant_id

    def forwarded_headers(self) -> dict[str, str]:
        """Headers that make a service-to-service call speak for this caller (empty when anonymous)."""
        return {"authorization": f"Bearer {self.credentials}"} if self.credentials else {}

    def require_platform_admin(self) -> str:
        """The user id, provided the caller is a platform administrator."""
        user_id = self.require_user()
        if not self.platform_admin:
            raise Forbidden("Only platform administrators may do this")
        return user_id


ANONYMOUS = Caller()
AUTHENTICATION_UNAVAILABLE = "AUTHENTICATION_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "Authentication is temporarily unavailable; try again shortly"


class AuthenticationUnavailable(DomainError):
    """Who is calling cannot be established right now (identity or the issuer is unreachable): answer 503."""

    code = AUTHENTICATION_UNAVAILABLE


def caller_from_context(context: CallerContext, token: str) -> Caller:
    """The caller identity's current ``context`` describes, speaking with ``token``."""
    return Caller(
        user_id=context.user_id,
        email=context.email,
        tenant_id=context.tenant_id,
        roles=context.roles,
        scopes=context.scopes,
        policies=context.policies,
        platform_admin=context.platform_admin,
        acting_as_platform_admin=context.acting_as_platform_admin,
        tenant_class=context.tenant_class,
        session_id=context.session_id,
        credentials=token,
    )


async def caller_from_headers(headers: Mapping[str, str], auth: SubgraphAuth) -> Caller:
    """The caller a request speaks for.

    No ``Authorization`` header means anonymous, whatever else the request claims (a bare
    ``X-Tenant-ID`` is ignored). A bearer token is verified against the trusted issuers' keys,
    then identity says what its holder may do now, in the tenant ``X-Tenant-ID`` picks (default:
    the token's). A header that is present but not a valid bearer token is an error, never a
    silent downgrade to anonymous: ``Unauthenticated`` with one stable message (the reason goes
    to the log), ``Forbidden`` for a tenant the caller is not a member of,
    ``AuthenticationUnavailable`` when identity or the issuer cannot be reached.
    """
    raw = headers.get("authorization")
    if not raw:
        return ANONYMOUS
    scheme, _, token = raw.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        log.info("refused a request: the Authorization header is not 'Bearer <token>'")
        raise Unauthenticated(INVALID_TOKEN_MESSAGE)
    tenant = (headers.get("x-tenant-id") or "").strip() or None
    try:
        context = await auth.context(token, tenant)
    except InvalidToken as exc:
        log.info("refused a token: %s", exc.reason)
        raise Unauthenticated(INVALID_TOKEN_MESSAGE) from None
    except NotAMember as exc:
        raise Forbidden(exc.message) from None
    except ContextUnavailable as exc:
        log.warning("cannot establish the caller: %s", exc.reason)
        raise AuthenticationUnavailable(UNAVAILABLE_MESSAGE) from None
    return caller_from_context(context, token)
