"""The identity subgraph's GraphQL object types (Role, Tenant, Membership, User, the payloads and the
audit entry), the domain enums registered as GraphQL enums, and the views that build Tenant and User
from rows with the visibility rules of :mod:`subgraphs.identity.schema`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from subgraphs.identity import domain, models
from subgraphs.identity.domain import TenantClass, TenantStatus, TenantType, UserStatus
from subgraphs.identity.loaders import (
    member_roles_by_user_id,
    members_by_user_id,
    own_memberships_by_user_id,
    roles_by_tenant_id,
    tenants_by_id,
    users_by_id,
)
from subgraphs.identity.repository import IdentityRepository, RoleRow

strawberry.enum(TenantType, description="What kind of organisation a tenant is")
strawberry.enum(TenantStatus, description="Where a tenant is in its lifecycle")
strawberry.enum(TenantClass, description="The tenant's plan")
# UserStatus is registered in schema_auth, which uses it first.


# -- visibility helpers ---------------------------------------------------------------------------


async def _own_tenant_ids(ctx: Any) -> list[str]:
    """The tenants the caller belongs to (one batched query per request)."""
    if ctx.caller.is_anonymous:
        return []
    memberships = await own_memberships_by_user_id(ctx).load(ctx.caller.user_id)
    return [m.tenant_id for m in memberships]


async def tenant_view(ctx: Any, row: models.Tenant, *, details: bool | None = None) -> Tenant:
    """The GraphQL tenant for ``row``, showing details when the caller may see them."""
    if details is None:
        details = domain.sees_tenant_details(ctx.caller, await _own_tenant_ids(ctx), row.id)
    return Tenant(
        id=strawberry.ID(row.id), name=row.name, domain=row.domain, type=TenantType(row.type), row=row, details=details
    )


def user_view(row: models.User, *, is_self: bool, active_tenant_id: str | None) -> User:
    """The GraphQL user for ``row``; ``active_tenant_id`` is the tenant the viewer acts in."""
    return User(
        id=strawberry.ID(row.id),
        email=row.email,
        name=row.name,
        username=row.username,
        status=UserStatus(row.status),
        platform_admin=row.platform_admin,
        created_at=row.created_at,
        is_self=is_self,
        active_tenant_id=active_tenant_id,
    )


def role_view(row: models.Role | RoleRow) -> Role:
    """The GraphQL role for a role row."""
    return Role(id=strawberry.ID(row.id), name=row.name, description=row.description)


async def visible_user(ctx: Any, row: models.User | None) -> User | None:
    """The GraphQL user for ``row`` when the caller may see it: itself, a member of its active tenant, a platform
    administrator; else None."""
    if row is None:
        return None
    caller = ctx.caller
    # Every row takes the same path through the loaders (no early return before the await), so
    # the nested fields of all representations load in the same batches.
    member = await members_by_user_id(ctx).load(row.id) if caller.tenant_id is not None else None
    if row.id == caller.user_id or caller.platform_admin or member is not None:
        return user_view(row, is_self=row.id == caller.user_id, active_tenant_id=caller.tenant_id)
    return None


@strawberry.type(description="A named role of one tenant; Admin, Manager and Viewer exist in every tenant")
class Role:
    id: strawberry.ID
    name: str
    description: str


@strawberry.federation.type(keys=["id"], description="An organisation using the platform")
class Tenant:
    id: strawberry.ID
    name: str
    domain: str
    type: TenantType
    row: strawberry.Private[models.Tenant]
    details: strawberry.Private[bool]

    @strawberry.field(description="Lifecycle status; null unless you belong to the tenant or administer the platform")
    def status(self) -> TenantStatus | None:
        return TenantStatus(self.row.status) if self.details else None

    @strawberry.field(description="The tenant's plan; null unless you belong to the tenant or administer the platform")
    def tenant_class(self) -> TenantClass | None:
        return TenantClass(self.row.tenant_class) if self.details else None

    @strawberry.field(
        description="When it was onboarded; null unless you belong to the tenant or administer the platform"
    )
    def created_at(self) -> datetime | None:
        return self.row.created_at if self.details else None

    @strawberry.field(
        description="The parent organisation; null unless you belong to the tenant or administer the platform"
    )
    async def parent(self, info: Info) -> Tenant | None:
        if not self.details or self.row.parent_id is None:
            return None
        parent = await tenants_by_id(info.context).load(self.row.parent_id)
        return None if parent is None else await tenant_view(info.context, parent)

    @strawberry.field(description="The tenant's roles, by name; listed while you act in this tenant (empty otherwise)")
    async def roles(self, info: Info) -> list[Role]:
        if not self.details:
            return []
        return [role_view(row) for row in await roles_by_tenant_id(info.context).load(self.row.id)]

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Tenant | None:
        row = await tenants_by_id(info.context).load(str(id))
        return None if row is None else await tenant_view(info.context, row)


@strawberry.type(description="A user's membership of one tenant")
class Membership:
    tenant_id: strawberry.Private[str]
    joined_at: datetime
    roles: list[Role]
    active: bool = strawberry.field(description="True for the tenant the viewer acts in now")

    @strawberry.field(description="The tenant")
    async def tenant(self, info: Info) -> Tenant:
        row = await tenants_by_id(info.context).load(self.tenant_id)
        # One sees the memberships of oneself or of members of one's active tenant: both are one's tenants.
        return await tenant_view(info.context, row, details=True)


@strawberry.federation.type(keys=["id"], description="A person who signs in")
class User:
    id: strawberry.ID
    email: str
    name: str
    username: str
    status: UserStatus
    platform_admin: bool
    created_at: datetime
    is_self: strawberry.Private[bool]
    active_tenant_id: strawberry.Private[str | None]
    # An invitation's answer shows the roles it asked for, the same way for a new person and for
    # an existing account whose membership waits for its owner (invitations.invite_user).
    invited_roles: strawberry.Private[list[Role] | None] = None

    @strawberry.field(
        description="Your own memberships in every tenant; for another user, the membership in your active tenant"
    )
    async def memberships(self, info: Info) -> list[Membership]:
        ctx = info.context
        if self.invited_roles is not None and self.active_tenant_id is not None:
            return [
                Membership(
                    tenant_id=self.active_tenant_id, joined_at=self.created_at, roles=self.invited_roles, active=True
                )
            ]
        if self.is_self:
            rows = await own_memberships_by_user_id(ctx).load(str(self.id))
            return [
                Membership(
                    tenant_id=m.tenant_id,
                    joined_at=m.created_at,
                    roles=[role_view(r) for r in m.roles],
                    active=m.tenant_id == self.active_tenant_id,
                )
                for m in rows
            ]
        membership, roles = await asyncio.gather(
            members_by_user_id(ctx).load(str(self.id)), member_roles_by_user_id(ctx).load(str(self.id))
        )
        if membership is None:
            return []
        return [
            Membership(
                tenant_id=membership.tenant_id,
                joined_at=membership.created_at,
                roles=[role_view(r) for r in roles],
                active=membership.tenant_id == self.active_tenant_id,
            )
        ]

    @strawberry.field(description="The roles the user holds in the caller's active tenant")
    async def roles(self, info: Info) -> list[Role]:
        if self.invited_roles is not None:
            return self.invited_roles
        return [role_view(row) for row in await member_roles_by_user_id(info.context).load(str(self.id))]

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> User | None:
        return await visible_user(info.context, await users_by_id(info.context).load(str(id)))


@strawberry.type(description="Tokens from the development issuer and what they speak for")
class AuthPayload:
    access_token: str
    refresh_token: str
    token_type: str
    expires_at: datetime
    expires_in: int = strawberry.field(description="Seconds until the access token expires")
    refresh_expires_at: datetime
    user: User
    tenant: Tenant | None = strawberry.field(description="The active tenant; null for a user without tenants")
    roles: list[str] = strawberry.field(description="The roles held in the active tenant")


@strawberry.type(description="A single-use invitation: the invited person sets a password with acceptInvitation")
class Invitation:
    token: str
    expires_at: datetime
    user: User


@strawberry.type(description="A new tenant with its first administrator and default roles")
class OnboardTenantPayload:
    tenant: Tenant
    admin: User
    roles: list[Role]


@strawberry.type(description="One entry of the identity audit trail")
class IdentityAuditEntry:
    id: strawberry.ID
    user_id: strawberry.ID | None
    action: str
    object_type: str
    object_id: str | None
    before: JSON | None
    after: JSON | None
    result: str
    message: str | None
    created_at: datetime


def identity_repository(info: Info) -> IdentityRepository:
    """The request's identity repository."""
    return IdentityRepository(info.context.session)
