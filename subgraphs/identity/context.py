"""The caller's current context: who they are and what they may do in the active tenant, read NOW.

One function, :func:`resolve_context`, serves ``GET /auth/context`` (for the gateway
and the other subgraphs) and identity itself in-process. It takes a token that
already passed signature and claim checks and reads identity's database: the
user's status, the session (revoked by logout or refresh reuse), the membership
and roles in the tenant, the tenant's status and class, and the tenant's policy
rules. A token only says who signed in; everything it may do comes from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.caller import ADMIN, MANAGER, VIEWER
from subgraphs.common.db import Database
from subgraphs.common.ids import utcnow
from subgraphs.common.tenancy import SYSTEM
from subgraphs.identity.models import Membership, Role, RoleGrant, Session, Tenant, User
from subgraphs.identity.policies import KNOWN_POLICIES, granted, tenant_rules
from subgraphs.identity.sessions import aware
from tokenauth import CallerContext, InvalidToken, NotAMember, VerifiedToken

_WRITE = frozenset({"catalog:write", "templates:write", "passport:write"})
ROLE_SCOPES: dict[str, frozenset[str]] = {
    ADMIN: _WRITE | {"identity:admin"},
    MANAGER: _WRITE,
    VIEWER: frozenset(),
}
RESTRICTED_SCOPE = "passport:restricted"
# Tenant types that act as authorities or recyclers and may read RESTRICTED passport values.
RESTRICTED_TENANT_TYPES = frozenset({"collector", "sorter", "refurbisher"})
# Tenant statuses in which nobody but a platform administrator acts.
INACTIVE_TENANT = frozenset({"rejected", "deactivated"})
ACTIVE_USER = "active"


def role_scopes(roles: Iterable[str], tenant_type: str | None) -> frozenset[str]:
    """The scopes ``roles`` give in a tenant of ``tenant_type``."""
    scopes: set[str] = set()
    for role in roles:
        scopes |= ROLE_SCOPES.get(role, frozenset())
    if tenant_type in RESTRICTED_TENANT_TYPES:
        scopes.add(RESTRICTED_SCOPE)
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class _TenantState:
    tenant: Tenant | None
    member: bool
    roles: tuple[str, ...]


async def _tenant_state(db: AsyncSession, user_id: str, tenant_id: str) -> _TenantState:
    """The tenant, whether ``user_id`` belongs to it and the roles held there: one statement."""
    stmt = (
        sa.select(Tenant, col(Membership.id), col(Role.name))
        .outerjoin(Membership, sa.and_(col(Membership.tenant_id) == col(Tenant.id), col(Membership.user_id) == user_id))
        .outerjoin(RoleGrant, col(RoleGrant.membership_id) == col(Membership.id))
        .outerjoin(Role, col(Role.id) == col(RoleGrant.role_id))
        .where(col(Tenant.id) == tenant_id)
    )
    rows = (await db.exec(stmt)).all()  # type: ignore[call-overload]
    if not rows:
        return _TenantState(tenant=None, member=False, roles=())
    member = any(membership_id is not None for _, membership_id, _ in rows)
    names = tuple(sorted({role for _, _, role in rows if role is not None}))
    return _TenantState(tenant=rows[0][0], member=member, roles=names)


async def _user_and_session(db: AsyncSession, user_id: str, session_id: str | None) -> tuple[User, Session] | None:
    """The user and their session named by a token of ours (None unless both exist and belong together)."""
    if session_id is None:
        return None
    stmt = sa.select(User, Session).where(
        col(User.id) == user_id, col(Session.id) == session_id, col(Session.user_id) == col(User.id)
    )
    row = (await db.exec(stmt)).first()  # type: ignore[call-overload]
    return None if row is None else (row[0], row[1])


async def resolve_context(
    database: Database,
    token: VerifiedToken,
    tenant: str | None,
    policies: Iterable[str] = (),
    *,
    own_issuer: str,
) -> CallerContext:
    """The context of a verified ``token`` acting in ``tenant`` (the ``X-Tenant-ID``; None: the token's tenant).

    Raises ``InvalidToken`` (401: unknown or inactive user, revoked or expired
    session, deactivated tenant) or ``NotAMember`` (403: a tenant the caller may
    not act in). ``policies`` are checked together with :data:`KNOWN_POLICIES`.
    """
    asked = set(policies) | KNOWN_POLICIES
    own = token.issuer.issuer.rstrip("/") == own_issuer.rstrip("/")
    tenant_id = tenant or token.tenant_id
    async with database.session(SYSTEM) as db:
        if own:
            found = await _user_and_session(db, token.subject, token.session_id)
            if found is None or found[1].revoked_at is not None or aware(found[1].expires_at) <= utcnow():
                raise InvalidToken("the session is unknown, revoked or expired")
            user = found[0]
            if user.status != ACTIVE_USER:
                raise InvalidToken("the user is not active")
            email, platform_admin = user.email, user.platform_admin
        else:
            if tenant is not None and token.tenant_id is not None and tenant != token.tenant_id:
                raise NotAMember()
            email, platform_admin = str(token.claims.get("email") or ""), False
        state = await _tenant_state(db, token.subject, tenant_id) if tenant_id is not None else None
        rules = await tenant_rules(db, tenant_id) if tenant_id is not None else []
    acting = False
    roles: tuple[str, ...] = ()
    row = state.tenant if state is not None else None
    if state is not None and tenant_id is not None:
        if own:
            if row is None or (not state.member and not platform_admin):
                raise NotAMember()
            acting = not state.member
            roles = state.roles if state.member else (ADMIN,)
        else:
            roles = tuple(sorted(set(token.roles)))
        if row is not None and row.status in INACTIVE_TENANT and not platform_admin:
            raise InvalidToken(f"tenant {tenant_id} is {row.status}")
    # Platform administrators count as Admin in any tenant they act in.
    effective = tuple(sorted({*roles, ADMIN})) if platform_admin and tenant_id is not None else roles
    tenant_type = row.type if row is not None else None
    return CallerContext(
        user_id=token.subject,
        email=email,
        tenant_id=tenant_id,
        roles=roles,
        scopes=token.scopes | role_scopes(effective, tenant_type),
        policies=granted(rules, tenant_id, effective, asked) if tenant_id is not None else frozenset(),
        platform_admin=platform_admin,
        acting_as_platform_admin=acting,
        tenant_class=row.tenant_class if row is not None else None,
        session_id=token.session_id if own else None,
        expires_at=token.expires_at,
    )
