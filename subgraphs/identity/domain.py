"""Domain rules of the identity subgraph: tenants, users, roles, passwords and sign-in.

Plain functions over plain values and an :class:`IdentityRepository`; they raise
:mod:`subgraphs.common.errors` with messages a user can act on.

The values and the rules on each (enums, lifecycle, passwords, normalised text) are in
:mod:`subgraphs.identity.values` and re-exported here; this module holds the operations on tenants,
users, members and roles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from subgraphs.common.caller import ADMIN, DEFAULT_ROLES
from subgraphs.common.errors import BadUserInput, Conflict, not_found
from subgraphs.identity.models import Membership, Role, RoleGrant, Tenant, User
from subgraphs.identity.policies import default_rules as default_policy_rules
from subgraphs.identity.repository import IdentityRepository
from subgraphs.identity.values import (
    INVALID_CREDENTIALS,
    MIN_PASSWORD_LENGTH,
    NO_SIGN_IN,
    ROLE_DESCRIPTIONS,
    TRANSITIONS,
    USERNAME_PATTERN,
    TenantClass,
    TenantStatus,
    TenantType,
    UserStatus,
    check_password,
    check_transition,
    hash_password,
    needs_rehash,
    normalise_domain,
    normalise_email,
    normalise_username,
    password_problems,
    required_text,
    sees_tenant_details,
    verify_password,
)

# -- tenants ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TenantDraft:
    """What onboarding needs to know about the new tenant."""

    name: str
    domain: str
    type: TenantType
    tenant_class: TenantClass
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class UserDraft:
    """A user to create: the first admin of a tenant, or an invited member."""

    email: str
    name: str
    username: str | None
    password: str | None


@dataclass(frozen=True, slots=True)
class Onboarded:
    """The result of onboarding: the tenant, its first admin and its default roles."""

    tenant: Tenant
    admin: User
    roles: list[Role]


def username_of(draft: UserDraft) -> str:
    """The username given, or (invitations may leave it out) one derived from the email's local part."""
    if draft.username is not None:
        return normalise_username(draft.username)
    username = re.sub(r"[^a-z0-9._-]", "-", draft.email.split("@", 1)[0])[:40]
    if not USERNAME_PATTERN.match(username):
        raise BadUserInput(f"cannot derive a username from {draft.email!r}; give one", field="username")
    return username


async def new_user(repo: IdentityRepository, draft: UserDraft, *, status: UserStatus) -> User:
    email = normalise_email(draft.email)
    name = required_text("name", draft.name)
    username = username_of(UserDraft(email, draft.name, draft.username, None))
    password_hash = None
    if draft.password is not None:
        check_password(draft.password)
    if await repo.user_by_email(email) is not None:
        raise Conflict(f"a user with email {email!r} already exists", field="email")
    if await repo.user_by_username(username) is not None:
        raise Conflict(f"username {username!r} is taken; choose another", field="username")
    if draft.password is not None:
        password_hash = await hash_password(draft.password)
    user = User(email=email, name=name, username=username, status=status.value, password_hash=password_hash)
    repo.add(user)
    return user


def default_roles(tenant_id: str) -> list[Role]:
    """The roles every tenant starts with."""
    return [Role(tenant_id=tenant_id, name=name, description=ROLE_DESCRIPTIONS[name]) for name in DEFAULT_ROLES]


async def onboard_tenant(repo: IdentityRepository, tenant: TenantDraft, admin: UserDraft) -> Onboarded:
    """Create a tenant (status invited), its default roles and policies and its first Admin, all or nothing.

    The caller's transaction makes it atomic: a refused admin (weak password,
    email taken) rolls back the tenant row written before it.
    """
    name = required_text("name", tenant.name)
    domain = normalise_domain(tenant.domain)
    if await repo.tenant_by_domain(domain) is not None:
        raise Conflict(f"a tenant with domain {domain!r} already exists", field="domain")
    if tenant.parent_id is not None and await repo.tenant(tenant.parent_id) is None:
        raise BadUserInput(f"parent tenant {tenant.parent_id!r} does not exist", field="parentId")
    row = Tenant(
        name=name,
        domain=domain,
        type=tenant.type.value,
        status=TenantStatus.INVITED.value,
        tenant_class=tenant.tenant_class.value,
        parent_id=tenant.parent_id,
    )
    repo.add(row)
    await repo.flush()
    user = await new_user(repo, admin, status=UserStatus.ACTIVE)
    await repo.flush()
    # Written in dependency order: without ORM relationships the flush does not sort rows by foreign key.
    roles = default_roles(row.id)
    membership = Membership(tenant_id=row.id, user_id=user.id)
    repo.add(*roles, membership, *default_policy_rules(row.id))
    await repo.flush_as(row.id)
    admin_role = next(r for r in roles if r.name == ADMIN)
    repo.add(RoleGrant(tenant_id=row.id, membership_id=membership.id, role_id=admin_role.id))
    await repo.flush_as(row.id)
    return Onboarded(tenant=row, admin=user, roles=roles)


async def set_tenant_status(repo: IdentityRepository, tenant_id: str, status: TenantStatus) -> tuple[str, Tenant]:
    """Move a tenant along its lifecycle; returns the previous status and the tenant."""
    tenant = await repo.tenant(tenant_id, for_update=True)
    if tenant is None:
        raise not_found("tenant", tenant_id)
    previous = tenant.status
    check_transition(previous, status)
    tenant.status = status.value
    repo.add(tenant)
    await repo.flush()
    return previous, tenant


# -- members and roles (of the caller's active tenant) --------------------------------------------


# The lock that serialises the "at least one Admin" rule of a tenant (assign_roles, remove_member).
ADMINS_RULE = "identity:admins"


async def resolve_roles(repo: IdentityRepository, names: Sequence[str]) -> tuple[list[Role], list[Role]]:
    """(the roles named, all roles of the tenant); role names match case-insensitively."""
    available = await repo.roles()
    by_name = {role.name.lower(): role for role in available}
    offered = ", ".join(role.name for role in available)
    if not names:
        raise BadUserInput(f"give at least one role; this tenant has: {offered}", field="roles")
    unknown = [name for name in names if name.strip().lower() not in by_name]
    if unknown:
        raise BadUserInput(
            f"unknown roles: {', '.join(unknown)}; this tenant has: {offered}", field="roles", unknown=unknown
        )
    chosen = list({by_name[name.strip().lower()].id: by_name[name.strip().lower()] for name in names}.values())
    return chosen, available


async def assign_roles(
    repo: IdentityRepository, tenant_id: str, user_id: str, role_names: Sequence[str]
) -> tuple[list[str], list[str], User]:
    """Replace a member's roles in the tenant; returns (roles before, roles after, user).

    A tenant must keep at least one Admin, or nobody could manage it any more. Role changes of a
    tenant take its Admin lock first, so two Admins demoting each other cannot both pass the check.
    """
    await repo.lock(ADMINS_RULE, tenant_id)
    membership = await repo.membership(user_id)
    user = await repo.user(user_id) if membership is not None else None
    if membership is None or user is None:
        raise not_found("user", user_id)
    roles, available = await resolve_roles(repo, role_names)
    by_id = {role.id: role for role in available}
    grants = await repo.grants(membership.id)
    before = sorted(by_id[g.role_id].name for g in grants if g.role_id in by_id)
    wanted = {role.id for role in roles}
    admin = next((role for role in available if role.name == ADMIN), None)
    held = {g.role_id for g in grants}
    if admin is not None and admin.id in held and admin.id not in wanted and await repo.count_holders(admin.id) <= 1:
        raise Conflict(
            f"{user.email} is the last Admin of this tenant; give another member the Admin role first", field="roles"
        )
    for grant in grants:
        if grant.role_id not in wanted:
            await repo.delete(grant)
    repo.add(
        *[RoleGrant(tenant_id=tenant_id, membership_id=membership.id, role_id=role_id) for role_id in wanted - held]
    )
    await repo.flush()
    return before, sorted(role.name for role in roles), user


async def remove_member(repo: IdentityRepository, user_id: str) -> tuple[list[str], User]:
    """Remove a member from the session's tenant (their role grants go with the membership).

    Returns the roles they held. The last Admin cannot be removed, as in :func:`assign_roles`.
    """
    membership = await repo.membership(user_id)
    user = await repo.user(user_id) if membership is not None else None
    if membership is None or user is None:
        raise not_found("user", user_id)
    await repo.lock(ADMINS_RULE, membership.tenant_id)
    available = {role.id: role for role in await repo.roles()}
    grants = await repo.grants(membership.id)
    held = sorted(available[g.role_id].name for g in grants if g.role_id in available)
    admin = next((role for role in available.values() if role.name == ADMIN), None)
    if admin is not None and ADMIN in held and await repo.count_holders(admin.id) <= 1:
        raise Conflict(f"{user.email} is the last Admin of this tenant; give another member the Admin role first")
    for grant in grants:
        await repo.delete(grant)
    await repo.flush()
    await repo.delete(membership)
    await repo.flush()
    return held, user


async def set_user_status(repo: IdentityRepository, user_id: str, status: UserStatus) -> tuple[str, User]:
    """Deactivate or reactivate an account (platform-wide); returns the previous status and the user."""
    user = await repo.user(user_id, for_update=True)
    if user is None:
        raise not_found("user", user_id)
    allowed = {UserStatus.ACTIVE.value: UserStatus.DEACTIVATED, UserStatus.DEACTIVATED.value: UserStatus.ACTIVE}
    if allowed.get(user.status) != status:
        raise Conflict(
            f"cannot change {user.email} from {user.status} to {status.value}; "
            "active and deactivated accounts switch between the two (invited ones accept their invitation)",
        )
    previous = user.status
    user.status = status.value
    repo.add(user)
    await repo.flush()
    return previous, user


# The values are re-exported: schemas, sign-in, invitations, seed and tests import them from here.
__all__ = [
    "ADMINS_RULE",
    "INVALID_CREDENTIALS",
    "MIN_PASSWORD_LENGTH",
    "NO_SIGN_IN",
    "ROLE_DESCRIPTIONS",
    "TRANSITIONS",
    "USERNAME_PATTERN",
    "Onboarded",
    "TenantClass",
    "TenantDraft",
    "TenantStatus",
    "TenantType",
    "UserDraft",
    "UserStatus",
    "assign_roles",
    "check_password",
    "check_transition",
    "default_roles",
    "hash_password",
    "needs_rehash",
    "new_user",
    "normalise_domain",
    "normalise_email",
    "normalise_username",
    "onboard_tenant",
    "password_problems",
    "remove_member",
    "required_text",
    "resolve_roles",
    "sees_tenant_details",
    "set_tenant_status",
    "set_user_status",
    "username_of",
    "verify_password",
]
