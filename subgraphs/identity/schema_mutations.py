"""The identity subgraph's mutations: onboarding, invitations, roles, tenant status and sign-in
(the account and session mutations come from :class:`subgraphs.identity.schema_auth.AuthMutation`).

Each runs through :func:`subgraphs.common.audit.run_mutation` (one transaction, audited whether it
succeeds or fails, membership events published after the commit); auth caches hear of a change
through :func:`subgraphs.identity.schema_auth.announce` once it has committed.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.federation.schema_directives import Authenticated, RequiresScopes
from strawberry.types import Info

from subgraphs.common.audit import AuditRecord, run_mutation
from subgraphs.common.caller import ADMIN
from subgraphs.identity import domain, invitations, models, signin
from subgraphs.identity.domain import TenantStatus, TenantType
from subgraphs.identity.schema_auth import (
    IDENTITY_ADMIN,
    MEMBERSHIP_EVENTS,
    AuthMutation,
    announce,
    change_membership,
    request_address,
    services_of,
)
from subgraphs.identity.schema_inputs import InviteUserInput, OnboardTenantInput
from subgraphs.identity.schema_types import (
    AuthPayload,
    Invitation,
    OnboardTenantPayload,
    Tenant,
    User,
    identity_repository,
    role_view,
    tenant_view,
    user_view,
)


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
            done = await domain.onboard_tenant(identity_repository(info), tenant, admin)
            record.object_id = done.tenant.id
            record.after = {**_tenant_json(done.tenant), "adminUserId": done.admin.id, "adminEmail": done.admin.email}
            return done

        done = await run_mutation(
            ctx, action="onboardTenant", object_type="Tenant", work=work, event=MEMBERSHIP_EVENTS["onboardTenant"]
        )
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
            user, roles = await invitations.invite_user(identity_repository(info), tenant_id, draft, input.roles)
            record.object_id = user.id
            record.after = {"email": user.email, "status": user.status, "roles": sorted(input.roles)}
            return user, roles

        user, roles = await change_membership(ctx, "inviteUser", work)
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
            invitation = await signin.issue_invitation(
                identity_repository(info), services_of(ctx), tenant_id, str(user_id)
            )
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
                identity_repository(info), ctx.database, services_of(ctx), token=token, password=password
            )
            record.object_id = signed.user.id
            record.after = {"status": signed.user.status, "tenantId": signed.tenant.id if signed.tenant else None}
            return signed

        return _signed_in(ctx, await change_membership(ctx, "acceptInvitation", work))

    @strawberry.mutation(
        description="Replace a member's roles in the active tenant (Admins)",
        directives=[RequiresScopes(scopes=IDENTITY_ADMIN)],
    )
    async def assign_roles(self, info: Info, user_id: strawberry.ID, roles: list[str]) -> User:
        ctx = info.context
        tenant_id = ctx.caller.require_role(ADMIN)

        async def work(record: AuditRecord) -> models.User:
            before, after, user = await domain.assign_roles(identity_repository(info), tenant_id, str(user_id), roles)
            record.before = {"roles": before}
            record.after = {"roles": after}
            return user

        user = await change_membership(ctx, "assignRoles", work, str(user_id))
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
            previous, tenant = await domain.set_tenant_status(identity_repository(info), str(id), status)
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
                identity_repository(info),
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
            signed = await signin.refresh(
                identity_repository(info), ctx.database, services_of(ctx), refresh_token=refresh_token
            )
            record.object_id = signed.user.id
            record.after = {"tenantId": signed.tenant.id if signed.tenant else None, "roles": list(signed.roles)}
            return signed

        refreshed = await run_mutation(ctx, action="refreshToken", object_type="User", work=work, exclusive=False)
        return _signed_in(ctx, refreshed)
