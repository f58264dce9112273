"""Signing in, refreshing, signing out and accepting invitations with the development OIDC issuer.

A sign-in opens a session (the refresh-token family, ``sid`` of its access
tokens) and returns an RS256 access token plus an opaque refresh token. What the
token may do is not in it: every service asks identity's current state
(:mod:`subgraphs.identity.context`), so the roles returned here are informative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from subgraphs.common.db import Database
from subgraphs.common.errors import Conflict, Forbidden, Unauthenticated, not_found
from subgraphs.identity import invitations
from subgraphs.identity.domain import (
    INVALID_CREDENTIALS,
    NO_SIGN_IN,
    UserStatus,
    check_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from subgraphs.identity.models import Role, Tenant, User
from subgraphs.identity.repository import IdentityRepository, MembershipRow, memberships_of_users
from subgraphs.identity.services import IdentityServices
from subgraphs.identity.sessions import (
    LOGOUT,
    LOGOUT_EVERYWHERE,
    RefreshRefused,
    SessionInfo,
    consume_invitation,
    create_invitation,
)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A token pair and what it speaks for."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime
    expires_in: int
    user: User
    tenant: Tenant | None
    roles: tuple[str, ...]
    session_id: str


def _check_sign_in(tenant: Tenant) -> None:
    if tenant.status in NO_SIGN_IN:
        raise Forbidden(f"tenant {tenant.name!r} is {tenant.status}; it cannot be signed into", tenantId=tenant.id)


async def _choose_tenant(
    repo: IdentityRepository, memberships: list[MembershipRow], tenant_id: str | None
) -> tuple[Tenant | None, MembershipRow | None]:
    if tenant_id is not None:
        membership = next((m for m in memberships if m.tenant_id == tenant_id), None)
        tenant = await repo.tenant(tenant_id) if membership is not None else None
        if membership is None or tenant is None:
            # The same answer whether the tenant exists or not.
            raise Forbidden(f"you are not a member of tenant {tenant_id!r}", tenantId=tenant_id)
        _check_sign_in(tenant)
        return tenant, membership
    tenants = {t.id: t for t in await repo.tenants([m.tenant_id for m in memberships])}
    for membership in memberships:  # oldest membership first
        tenant = tenants.get(membership.tenant_id)
        if tenant is not None and tenant.status not in NO_SIGN_IN:
            return tenant, membership
    if memberships:
        raise Forbidden("every tenant you belong to is deactivated or rejected; none can be signed into")
    return None, None  # a user without tenants (a platform administrator, say) signs in without one


def _signed(
    services: IdentityServices,
    user: User,
    tenant: Tenant | None,
    membership: MembershipRow | None,
    session: SessionInfo,
) -> SignedIn:
    access = services.issuer.access_token(
        user_id=user.id, email=user.email, session_id=session.id, tenant_id=tenant.id if tenant is not None else None
    )
    return SignedIn(
        access_token=access.token,
        refresh_token=session.refresh_token,
        expires_at=datetime.fromtimestamp(access.expires_at, UTC),
        refresh_expires_at=session.expires_at,
        expires_in=services.issuer.access_ttl,
        user=user,
        tenant=tenant,
        roles=membership.role_names if membership is not None else (),
        session_id=session.id,
    )


async def login(
    repo: IdentityRepository,
    database: Database,
    services: IdentityServices,
    *,
    email: str,
    password: str,
    tenant_id: str | None,
    address: str,
) -> SignedIn:
    """Check the limits and the credentials, open a session and issue tokens for ``tenant_id``.

    Wrong email and wrong password read the same and cost the same; so does the
    refusal of a locked account, whether it exists or not (RATE_LIMITED).
    """
    await services.guard.check(email, address)
    user = await repo.user_by_email(email.strip().lower())
    password_hash = user.password_hash if user is not None and user.status == UserStatus.ACTIVE.value else None
    if not await verify_password(password_hash, password) or user is None or password_hash is None:
        await services.guard.failed(email, address)
        raise Unauthenticated(INVALID_CREDENTIALS)
    await services.guard.succeeded(email)
    memberships = (await memberships_of_users(database, [user.id])).get(user.id, [])
    tenant, membership = await _choose_tenant(repo, memberships, tenant_id)
    if needs_rehash(password_hash):
        user.password_hash = await hash_password(password)
        repo.add(user)
    session = await services.sessions.open(user.id, tenant.id if tenant else None, repo.session)
    return _signed(services, user, tenant, membership, session)


async def refresh(
    repo: IdentityRepository, database: Database, services: IdentityServices, *, refresh_token: str
) -> SignedIn:
    """Rotate the session's refresh token and issue a new pair; a reused token revokes the session."""
    try:
        session = await services.sessions.rotate(refresh_token)
    except RefreshRefused as exc:
        if exc.reused:
            await services.invalidator.publish("session", sessionId=exc.session_id, userId=exc.user_id)
        raise
    user = await repo.user(session.user_id)
    if user is None or user.status != UserStatus.ACTIVE.value:
        raise Unauthenticated("the account of this refresh token is no longer active; sign in again")
    if session.tenant_id is None:
        return _signed(services, user, None, None, session)
    memberships = (await memberships_of_users(database, [user.id])).get(user.id, [])
    membership = next((m for m in memberships if m.tenant_id == session.tenant_id), None)
    tenant = await repo.tenant(session.tenant_id) if membership is not None else None
    if membership is None or tenant is None:
        raise Forbidden(f"you are no longer a member of tenant {session.tenant_id!r}; sign in again")
    _check_sign_in(tenant)
    return _signed(services, user, tenant, membership, session)


async def logout(services: IdentityServices, user_id: str, session_id: str | None, *, everywhere: bool) -> int:
    """Revoke the caller's session (or all their sessions); how many were revoked. Publishes the change."""
    if everywhere:
        count = await services.sessions.revoke_user(user_id, LOGOUT_EVERYWHERE)
    elif session_id is not None:
        count = int(await services.sessions.revoke(session_id, LOGOUT))
    else:
        raise Unauthenticated("this token belongs to no session; sign in again")
    await services.invalidator.publish("session", userId=user_id, sessionId=session_id)
    return count


# -- invitations ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invitation:
    """A single-use invitation for an invited member to set a password."""

    token: str
    expires_at: datetime
    user: User
    roles: list[Role] | None = None  # those asked for, for an existing account's pending invitation


async def issue_invitation(
    repo: IdentityRepository, services: IdentityServices, tenant_id: str, user_id: str
) -> Invitation:
    """A single-use invitation token for ``user_id``, an invited member of the active tenant.

    There is no mail service in development: the Admin hands the token over. The
    database keeps only its hash.
    """
    user = await repo.user(user_id)
    if user is None or await repo.membership(user.id) is None:
        # An existing account's pending invitation answers like any invited member (invitations.py).
        pending = await repo.pending_invitation(pending_id=user_id)
        if pending is None:
            raise not_found("User", user_id)
        token, expires_at = await create_invitation(
            repo.session, pending.user_id, tenant_id, services.sessions.refresh_ttl
        )
        roles = await invitations.roles_of(repo, pending)
        return Invitation(token, expires_at, invitations.pending_view(pending), roles)
    if user.status != UserStatus.INVITED.value:
        raise Conflict(
            f"{user.email} has already accepted an invitation and signs in with a password", status=user.status
        )
    token, expires_at = await create_invitation(repo.session, user.id, tenant_id, services.sessions.refresh_ttl)
    return Invitation(token=token, expires_at=expires_at, user=user)


async def accept_invitation(
    repo: IdentityRepository, database: Database, services: IdentityServices, *, token: str, password: str
) -> SignedIn:
    """Set the invited user's password, activate the account and sign in to the inviting tenant.

    A token works once; a refused acceptance (weak password) leaves it unused.
    """
    check_password(password)
    user_id, tenant_id = await consume_invitation(repo.session, token)
    user = await repo.user(user_id)
    if user is None:
        raise Unauthenticated("this invitation is no longer valid")
    if user.status == UserStatus.INVITED.value:
        user.password_hash = await hash_password(password)
        user.status = UserStatus.ACTIVE.value
        repo.add(user)
        joined = await invitations.join(repo, user, tenant_id, None)
    else:
        # An existing account invited to another tenant joins it now, with its own password.
        joined = await invitations.join(repo, user, tenant_id, password)
        if joined is None:
            raise Conflict("this invitation was already accepted; sign in with your password")
    memberships = (await memberships_of_users(database, [user.id])).get(user.id, [])
    if joined is not None:  # written in this transaction: not yet visible to memberships_of_users
        memberships = [*memberships, joined]
    tenant, membership = await _choose_tenant(repo, memberships, tenant_id)
    session = await services.sessions.open(user.id, tenant.id if tenant else None, repo.session)
    return _signed(services, user, tenant, membership, session)
