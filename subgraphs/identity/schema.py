"""GraphQL surface of the identity subgraph: tenants, users, memberships, roles and sign-in.

Visibility, decided here once per object and carried on it:

* a ``Tenant`` shows its public face (id, name, domain, type) to anyone who can
  reference it, e.g. as the issuer of a public passport; its details (status,
  class, parent, creation time, roles) only to its members and platform
  administrators. ``tenant(id)`` of a tenant one does not belong to is NOT_FOUND.
* a ``User`` is visible to itself, to members of the caller's active tenant it
  belongs to, and to platform administrators.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from strawberry.federation.schema_directives import Authenticated, Policy, RequiresScopes
from strawberry.scalars import JSON
from strawberry.types import Info

from subgraphs.common.audit import AuditRecord, run_mutation
from subgraphs.common.caller import ADMIN, MANAGER
from subgraphs.common.errors import Unauthenticated, not_found
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.pagination import Connection, build_connection, page_size, page_window
from subgraphs.common.tags import internal
from subgraphs.identity import domain, invitations, models, signin
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
from subgraphs.identity.schema_auth import (
    IDENTITY_ADMIN,
    AuthMutation,
    AuthQuery,
    announce,
    request_address,
    services_of,
)

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


async def _visible_user(ctx: Any, row: models.User | None) -> User | None:
    if row is None:
        return None
    caller = ctx.caller
    # Every row takes the same path through the loaders (no early return before the await), so
    # the nested fields of all representations load in the same batches.
    member = await members_by_user_id(ctx).load(row.id) if caller.tenant_id is not None else None
    if row.id == caller.user_id or caller.platform_admin or member is not None:
        return user_view(row, is_self=row.id == caller.user_id, active_tenant_id=caller.tenant_id)
    return None


# -- types ----------------------------------------------------------------------------------------


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
        return await _visible_user(info.context, await users_by_id(info.context).load(str(id)))


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


@strawberry.input(description="The first administrator of a new tenant")
class TenantAdminInput:
    email: str
    name: str
    username: str
    password: str


@strawberry.input(description="A tenant to onboard")
class OnboardTenantInput:
    name: str
    domain: str
    type: TenantType
    admin: TenantAdminInput
    tenant_class: TenantClass = TenantClass.STANDARD
    parent_id: strawberry.ID | None = None


@strawberry.input(description="A person to add to the active tenant")
class InviteUserInput:
    email: str
    roles: list[str]
    name: str = ""
    username: str | None = strawberry.field(default=None, description="Derived from the email when left out")


# -- operations -----------------------------------------------------------------------------------


# The typename of membership events (subgraphs/identity/subscriptions.py): key = the user, tenant = the tenant.
MEMBERSHIP = "Membership"


def _repo(info: Info) -> IdentityRepository:
    return IdentityRepository(info.context.session)


@strawberry.type
class Query(AuthQuery):
    @strawberry.field(description="The signed-in user", directives=[Authenticated()])
    async def me(self, info: Info) -> User:
        ctx = info.context
        row = await users_by_id(ctx).load(ctx.caller.require_user())
        if row is None:
            raise Unauthenticated("the account of this token no longer exists; sign in again")
        return user_view(row, is_self=True, active_tenant_id=ctx.caller.tenant_id)

    @strawberry.field(
        description="A tenant you belong to (any tenant for platform administrators)", directives=[Authenticated()]
    )
    async def tenant(self, info: Info, id: strawberry.ID) -> Tenant:
        ctx = info.context
        row = await tenants_by_id(ctx).load(str(id))
        view = None if row is None else await tenant_view(ctx, row)
        if view is None or not view.details:
            raise not_found("tenant", str(id))
        return view

    @strawberry.field(
        description="All tenants, by name (platform administrators only)", directives=[Authenticated(), page_size()]
    )
    async def tenants(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: TenantStatus | None = None,
        type: TenantType | None = None,
    ) -> Connection[Tenant]:
        ctx = info.context
        ctx.caller.require_platform_admin()
        offset, limit = page_window(first, after)
        rows, total = await _repo(info).list_tenants(
            offset=offset,
            limit=limit,
            status=status.value if status is not None else None,
            type_=type.value if type is not None else None,
        )
        items = [await tenant_view(ctx, row, details=True) for row in rows]
        return build_connection(items, offset=offset, total=total)

    @strawberry.field(
        description="Members of the active tenant, by name (Managers and Admins)",
        directives=[Authenticated(), page_size()],
    )
    async def users(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[User]:
        ctx = info.context
        ctx.caller.require_role(MANAGER)
        offset, limit = page_window(first, after)
        rows, total = await _repo(info).list_members(offset=offset, limit=limit)
        caller = ctx.caller
        items = [user_view(row, is_self=row.id == caller.user_id, active_tenant_id=caller.tenant_id) for row in rows]
        return build_connection(items, offset=offset, total=total)

    @strawberry.field(
        description="The identity audit trail of the active tenant, newest first (Admins)",
        directives=[Policy(policies=[["identity.audit:read"]]), page_size(), *internal()],
    )
    async def identity_audit_log(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[IdentityAuditEntry]:
        tenant_id = info.context.caller.require_role(ADMIN)
        offset, limit = page_window(first, after)
        rows, total = await _repo(info).audit_entries(tenant_id, offset=offset, limit=limit)
        items = [
            IdentityAuditEntry(
                id=strawberry.ID(row.id),
                user_id=strawberry.ID(row.user_id) if row.user_id else None,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                before=row.before,
                after=row.after,
                result=row.result,
                message=row.message,
                created_at=row.created_at,
            )
            for row in rows
        ]
        return build_connection(items, offset=offset, total=total)


def _tenant_json(row: models.Tenant) -> dict[str, Any]:
    return {
        "name": row.name,
        "domain": row.domain,
        "type": row.type,
        "status": row.status,
        "tenantClass": row.tenant_class,
        "parentId": row.parent_id,
    }


def _signed_in(ctx: Any, signed: signin.SignedIn) -> AuthPayload:
    return AuthPayload(
        access_token=signed.access_token,
        refresh_token=signed.refresh_token,
        token_type="Bearer",
        expires_at=signed.expires_at,
        expires_in=signed.expires_in,
        refresh_expires_at=signed.refresh_expires_at,
        user=user_view(signed.user, is_self=True, active_tenant_id=signed.tenant.id if signed.tenant else None),
        tenant=None
        if signed.tenant is None
        else Tenant(
            id=strawberry.ID(signed.tenant.id),
            name=signed.tenant.name,
            domain=signed.tenant.domain,
            type=TenantType(signed.tenant.type),
            row=signed.tenant,
            details=True,  # the tenant one just signed into
        ),
        roles=list(signed.roles),
    )


@strawberry.type
class Mutation(AuthMutation):
    @strawberry.mutation(
        description="Create a tenant, its default roles and its first Admin (platform administrators)",
        directives=[Authenticated()],
    )
    async def onboard_tenant(self, info: Info, input: OnboardTenantInput) -> OnboardTenantPayload:
        ctx = info.context
        ctx.caller.require_platform_admin()
        tenant = domain.TenantDraft(
            name=input.name,
            domain=input.domain,
            type=input.type,
            tenant_class=input.tenant_class,
            parent_id=str(input.parent_id) if input.parent_id is not None else None,
        )
        admin = domain.UserDraft(input.admin.email, input.admin.name, input.admin.username, input.admin.password)

        async def work(record: AuditRecord) -> domain.Onboarded:
            done = await domain.onboard_tenant(_repo(info), tenant, admin)
            record.object_id = done.tenant.id
            record.after = {**_tenant_json(done.tenant), "adminUserId": done.admin.id, "adminEmail": done.admin.email}
            record.emit(MEMBERSHIP, done.admin.id, "created", done.tenant.id)
            return done

        done = await run_mutation(ctx, action="onboardTenant", object_type="Tenant", work=work)
        return OnboardTenantPayload(
            tenant=await tenant_view(ctx, done.tenant, details=True),
            admin=user_view(done.admin, is_self=False, active_tenant_id=ctx.caller.tenant_id),
            roles=[role_view(role) for role in sorted(done.roles, key=lambda r: r.name)],
        )

    @strawberry.mutation(
        description="Add a person to the active tenant with roles (Admins)",
        directives=[RequiresScopes(scopes=IDENTITY_ADMIN)],
    )
    async def invite_user(self, info: Info, input: InviteUserInput) -> User:
        ctx = info.context
        tenant_id = ctx.caller.require_role(ADMIN)
        draft = domain.UserDraft(input.email, input.name, input.username, None)

        async def work(record: AuditRecord) -> tuple[models.User, list[models.Role]]:
            user, roles = await invitations.invite_user(_repo(info), tenant_id, draft, input.roles)
            record.object_id = user.id
            record.after = {"email": user.email, "status": user.status, "roles": sorted(input.roles)}
            record.emit(MEMBERSHIP, user.id, "invited", tenant_id)
            return user, roles

        user, roles = await run_mutation(ctx, action="inviteUser", object_type="User", work=work)
        await announce(ctx, "membership", tenantId=tenant_id, userId=user.id)
        view = user_view(user, is_self=False, active_tenant_id=tenant_id)
        view.invited_roles = [role_view(role) for role in sorted(roles, key=lambda r: r.name)]
        return view

    @strawberry.mutation(
        description="An invitation token for an invited member of the active tenant (Admins); hand it to them",
        directives=[RequiresScopes(scopes=IDENTITY_ADMIN)],
    )
    async def issue_invitation(self, info: Info, user_id: strawberry.ID) -> Invitation:
        ctx = info.context
        tenant_id = ctx.caller.require_role(ADMIN)

        async def work(record: AuditRecord) -> signin.Invitation:
            invitation = await signin.issue_invitation(_repo(info), services_of(ctx), tenant_id, str(user_id))
            record.after = {"email": invitation.user.email, "expiresAt": invitation.expires_at.isoformat()}
            return invitation

        invitation = await run_mutation(
            ctx, action="issueInvitation", object_type="User", work=work, object_id=str(user_id)
        )
        view = user_view(invitation.user, is_self=False, active_tenant_id=tenant_id)
        if invitation.roles is not None:
            view.invited_roles = [role_view(role) for role in invitation.roles]
        return Invitation(token=invitation.token, expires_at=invitation.expires_at, user=view)

    @strawberry.mutation(description="Accept an invitation: set a password, activate the account and sign in")
    async def accept_invitation(self, info: Info, token: str, password: str) -> AuthPayload:
        ctx = info.context

        async def work(record: AuditRecord) -> signin.SignedIn:
            signed = await signin.accept_invitation(
                _repo(info), ctx.database, services_of(ctx), token=token, password=password
            )
            record.object_id = signed.user.id
            record.after = {"status": signed.user.status, "tenantId": signed.tenant.id if signed.tenant else None}
            record.emit(MEMBERSHIP, signed.user.id, "accepted", signed.tenant.id if signed.tenant else None)
            return signed

        return _signed_in(ctx, await run_mutation(ctx, action="acceptInvitation", object_type="User", work=work))

    @strawberry.mutation(
        description="Replace a member's roles in the active tenant (Admins)",
        directives=[RequiresScopes(scopes=IDENTITY_ADMIN)],
    )
    async def assign_roles(self, info: Info, user_id: strawberry.ID, roles: list[str]) -> User:
        ctx = info.context
        tenant_id = ctx.caller.require_role(ADMIN)

        async def work(record: AuditRecord) -> models.User:
            before, after, user = await domain.assign_roles(_repo(info), tenant_id, str(user_id), roles)
            record.before = {"roles": before}
            record.after = {"roles": after}
            record.emit(MEMBERSHIP, user.id, "rolesChanged", tenant_id)
            return user

        user = await run_mutation(ctx, action="assignRoles", object_type="User", work=work, object_id=str(user_id))
        await announce(ctx, "roles", tenantId=tenant_id, userId=user.id)
        return user_view(user, is_self=user.id == ctx.caller.user_id, active_tenant_id=tenant_id)

    @strawberry.mutation(
        description="Move a tenant along its lifecycle: invited -> accepted | rejected, accepted -> activated, "
        "activated <-> deactivated (platform administrators)",
        directives=[Authenticated()],
    )
    async def set_tenant_status(self, info: Info, id: strawberry.ID, status: TenantStatus) -> Tenant:
        ctx = info.context
        ctx.caller.require_platform_admin()

        async def work(record: AuditRecord) -> models.Tenant:
            previous, tenant = await domain.set_tenant_status(_repo(info), str(id), status)
            record.before = {"status": previous}
            record.after = {"status": tenant.status}
            return tenant

        tenant = await run_mutation(ctx, action="setTenantStatus", object_type="Tenant", work=work, object_id=str(id))
        await announce(ctx, "tenant", tenantId=tenant.id)
        return await tenant_view(ctx, tenant, details=True)

    @strawberry.mutation(
        description="Sign in with email and password; tokens for tenantId (default: your first tenant)"
    )
    async def login(self, info: Info, email: str, password: str, tenant_id: strawberry.ID | None = None) -> AuthPayload:
        ctx = info.context

        address = request_address(ctx)

        async def work(record: AuditRecord) -> signin.SignedIn:
            signed = await signin.login(
                _repo(info),
                ctx.database,
                services_of(ctx),
                email=email,
                password=password,
                tenant_id=str(tenant_id) if tenant_id is not None else None,
                address=address,
            )
            record.object_id = signed.user.id
            record.after = {"tenantId": signed.tenant.id if signed.tenant else None, "roles": list(signed.roles)}
            return signed

        return _signed_in(ctx, await run_mutation(ctx, action="login", object_type="User", work=work, exclusive=False))

    @strawberry.mutation(
        description="Exchange a refresh token for a new pair; the old one stops working, and using it again "
        "revokes the whole session"
    )
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        ctx = info.context

        async def work(record: AuditRecord) -> signin.SignedIn:
            signed = await signin.refresh(_repo(info), ctx.database, services_of(ctx), refresh_token=refresh_token)
            record.object_id = signed.user.id
            record.after = {"tenantId": signed.tenant.id if signed.tenant else None, "roles": list(signed.roles)}
            return signed

        refreshed = await run_mutation(ctx, action="refreshToken", object_type="User", work=work, exclusive=False)
        return _signed_in(ctx, refreshed)


def build() -> SubgraphSchema:
    """The identity subgraph's federation schema."""
    from subgraphs.identity.subscriptions import Subscription  # it imports this module's types

    return build_schema(query=Query, mutation=Mutation, subscription=Subscription, types=[Tenant, User])
