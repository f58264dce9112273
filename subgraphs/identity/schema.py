"""GraphQL surface of the identity subgraph: tenants, users, memberships, roles and sign-in.

Visibility, decided here once per object and carried on it:

* a ``Tenant`` shows its public face (id, name, domain, type) to anyone who can
  reference it, e.g. as the issuer of a public passport; its details (status,
  class, parent, creation time, roles) only to its members and platform
  administrators. ``tenant(id)`` of a tenant one does not belong to is NOT_FOUND.
* a ``User`` is visible to itself, to members of the caller's active tenant it
  belongs to, and to platform administrators.

The object types and views are in :mod:`subgraphs.identity.schema_types`, the inputs in
:mod:`subgraphs.identity.schema_inputs`, the mutations in :mod:`subgraphs.identity.schema_mutations`;
this module holds the queries and builds the schema.
"""

from __future__ import annotations

import strawberry
from strawberry.federation.schema_directives import Authenticated, Policy
from strawberry.types import Info

from subgraphs.common.caller import ADMIN, MANAGER
from subgraphs.common.errors import Unauthenticated, not_found
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.pagination import Connection, build_connection, page_size, page_window
from subgraphs.common.tags import internal
from subgraphs.identity.domain import TenantStatus, TenantType
from subgraphs.identity.loaders import tenants_by_id, users_by_id
from subgraphs.identity.schema_auth import MEMBERSHIP, AuthQuery
from subgraphs.identity.schema_inputs import InviteUserInput, OnboardTenantInput, TenantAdminInput
from subgraphs.identity.schema_mutations import Mutation
from subgraphs.identity.schema_types import (
    AuthPayload,
    IdentityAuditEntry,
    Invitation,
    Membership,
    OnboardTenantPayload,
    Role,
    Tenant,
    User,
    identity_repository,
    role_view,
    tenant_view,
    user_view,
    visible_user,
)


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
        rows, total = await identity_repository(info).list_tenants(
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
        rows, total = await identity_repository(info).list_members(offset=offset, limit=limit)
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
        rows, total = await identity_repository(info).audit_entries(tenant_id, offset=offset, limit=limit)
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


def build() -> SubgraphSchema:
    """The identity subgraph's federation schema."""
    from subgraphs.identity.subscriptions import Subscription  # it imports this module's types

    return build_schema(query=Query, mutation=Mutation, subscription=Subscription, types=[Tenant, User])


# Re-exported: subscriptions.py and tests import these from here.
__all__ = [
    "MEMBERSHIP",
    "AuthPayload",
    "IdentityAuditEntry",
    "Invitation",
    "InviteUserInput",
    "Membership",
    "Mutation",
    "OnboardTenantInput",
    "OnboardTenantPayload",
    "Query",
    "Role",
    "Tenant",
    "TenantAdminInput",
    "User",
    "build",
    "role_view",
    "tenant_view",
    "user_view",
    "visible_user",
]
