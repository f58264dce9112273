"""Invitations: a person joins a tenant only by accepting, and the inviting tenant learns nothing of accounts.

``inviteUser`` answers the same way whether or not the email already has an account:
the name and username the Admin typed, status INVITED, the roles asked for. A new email
becomes an invited user and member at once (it has no password until it accepts). An
existing account is not touched: a :class:`~subgraphs.identity.models.PendingInvitation`
stands for it under an id of its own, ``issueInvitation`` hands out a token for that id
like for any invited member, and ``acceptInvitation`` with the account's own password
makes the membership with the roles asked for (:func:`join`).
"""

from __future__ import annotations

from collections.abc import Sequence

from subgraphs.common.errors import Conflict, Unauthenticated
from subgraphs.identity.domain import (
    UserDraft,
    UserStatus,
    new_user,
    normalise_email,
    required_text,
    resolve_roles,
    username_of,
    verify_password,
)
from subgraphs.identity.models import Membership, PendingInvitation, Role, RoleGrant, User
from subgraphs.identity.repository import IdentityRepository, MembershipRow, RoleRow


async def invite_user(
    repo: IdentityRepository, tenant_id: str, draft: UserDraft, role_names: Sequence[str]
) -> tuple[User, list[Role]]:
    """Invite a person to the tenant with ``role_names``; returns what the inviting Admin sees and the roles.

    A new email becomes an invited user and member at once. The email of an existing account
    answers the same way (the name and username the Admin typed, status invited) but grants
    nothing and shows nothing of the account: it becomes a :class:`PendingInvitation` whose
    id stands for the person until they accept with their own password (``acceptInvitation``).
    """
    roles, _ = await resolve_roles(repo, role_names)
    email = normalise_email(draft.email)
    user = await repo.user_by_email(email)
    if user is not None and await repo.membership(user.id) is None:
        return await _invite_existing(repo, tenant_id, user, UserDraft(email, draft.name, draft.username, None), roles)
    if user is None:
        user = await new_user(repo, UserDraft(email, draft.name, draft.username, None), status=UserStatus.INVITED)
        await repo.flush()
    else:
        raise Conflict(f"{email} is already a member of this tenant", field="email")
    # Written in dependency order: without ORM relationships the flush does not sort rows by foreign key.
    membership = Membership(tenant_id=tenant_id, user_id=user.id)
    repo.add(membership)
    await repo.flush()
    repo.add(*[RoleGrant(tenant_id=tenant_id, membership_id=membership.id, role_id=role.id) for role in roles])
    await repo.flush()
    return user, roles


async def _invite_existing(
    repo: IdentityRepository, tenant_id: str, account: User, draft: UserDraft, roles: list[Role]
) -> tuple[User, list[Role]]:
    """The pending invitation of an existing ``account``, shown as a new invited person would be."""
    name = required_text("name", draft.name)
    username = username_of(draft)
    if await repo.pending_invitation(user_id=account.id) is not None:
        raise Conflict(f"{draft.email} is already a member of this tenant", field="email")
    if await repo.user_by_username(username) is not None:
        raise Conflict(f"username {username!r} is taken; choose another", field="username")
    pending = PendingInvitation(
        tenant_id=tenant_id,
        user_id=account.id,
        email=draft.email,
        name=name,
        username=username,
        role_ids=[role.id for role in roles],
    )
    repo.add(pending)
    await repo.flush()
    return pending_view(pending), roles


def pending_view(pending: PendingInvitation) -> User:
    """What the inviting tenant sees of a pending invitation: its own input, under the invitation's id.

    A detached row, never added to a session.
    """
    return User(
        id=pending.id,
        email=pending.email,
        name=pending.name,
        username=pending.username,
        status=UserStatus.INVITED.value,
        platform_admin=False,
        created_at=pending.created_at,
    )


async def roles_of(repo: IdentityRepository, pending: PendingInvitation) -> list[Role]:
    """The roles a pending invitation asks for (those of the session's tenant), by name."""
    wanted = set(pending.role_ids)
    return sorted((role for role in await repo.roles() if role.id in wanted), key=lambda r: r.name)


async def join(repo: IdentityRepository, user: User, tenant_id: str, password: str | None) -> MembershipRow | None:
    """An existing account accepts its pending invitation to ``tenant_id``, proving it is its owner.

    ``password`` is checked against the account's own (``None``: the caller has just set it).
    The membership and the roles asked for are written under the tenant's scope, and the
    pending invitation goes; ``None`` when there is none. A wrong password spends nothing
    (the mutation rolls back, the token with it).
    """
    async with repo.acting_for(tenant_id):
        pending = await repo.pending_invitation(user_id=user.id)
        if pending is None:
            return None
        if password is not None and (
            user.status != UserStatus.ACTIVE.value or not await verify_password(user.password_hash, password)
        ):
            raise Unauthenticated("this invitation is for an existing account: accept it with that account's password")
        roles = await roles_of(repo, pending)
        membership = Membership(tenant_id=tenant_id, user_id=user.id)
        repo.add(membership)
        await repo.flush()
        repo.add(*[RoleGrant(tenant_id=tenant_id, membership_id=membership.id, role_id=role.id) for role in roles])
        await repo.delete(pending)
        await repo.flush()
    return MembershipRow(
        id=membership.id,
        tenant_id=tenant_id,
        user_id=user.id,
        created_at=membership.created_at,
        roles=tuple(RoleRow(id=r.id, tenant_id=tenant_id, name=r.name, description=r.description) for r in roles),
    )
