"""Identity's GraphQL operations for sessions and policies: logout, and the tenant's Casbin policy grants.

Mixed into :mod:`subgraphs.identity.schema`'s ``Query`` and ``Mutation``. Every
change here and in the membership/role/status mutations is announced on
``dpp:auth:invalidate`` after it committed (:func:`announce`), so that caller
contexts cached by the gateway and the subgraphs are dropped at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from strawberry.federation.schema_directives import Authenticated, RequiresScopes
from strawberry.types import Info

from subgraphs.common.audit import AuditRecord, MutationEvent, run_mutation
from subgraphs.common.caller import ADMIN, Caller
from subgraphs.identity import domain, policies, signin
from subgraphs.identity.domain import UserStatus
from subgraphs.identity.ratelimit import UNKNOWN_ADDRESS, client_address
from subgraphs.identity.repository import IdentityRepository
from subgraphs.identity.services import IdentityServices, identity_services
from subgraphs.identity.sessions import USER_DEACTIVATED

IDENTITY_ADMIN = [["identity:admin"]]
T = TypeVar("T")

# The typename of membership events (subgraphs/identity/subscriptions.py): key = the user, tenant = the tenant.
MEMBERSHIP = "Membership"


def _acting_tenant(result: Any, caller: Caller) -> str | None:
    return caller.tenant_id


# The membership event each mutation stages: the user's key, in the acting tenant unless the result names it.
MEMBERSHIP_EVENTS: dict[str, MutationEvent[Any]] = {
    "onboardTenant": MutationEvent(
        MEMBERSHIP, "created", key=lambda done: done.admin.id, tenant=lambda done, caller: done.tenant.id
    ),
    "inviteUser": MutationEvent(MEMBERSHIP, "invited", key=lambda invited: invited[0].id, tenant=_acting_tenant),
    "acceptInvitation": MutationEvent(
        MEMBERSHIP,
        "accepted",
        key=lambda signed: signed.user.id,
        tenant=lambda signed, caller: signed.tenant.id if signed.tenant else None,
    ),
    "assignRoles": MutationEvent(MEMBERSHIP, "rolesChanged", tenant=_acting_tenant),
    "removeMember": MutationEvent(MEMBERSHIP, "removed", key=str, tenant=_acting_tenant),
}


async def change_membership(
    ctx: Any, action: str, work: Callable[[AuditRecord], Awaitable[T]], object_id: str | None = None
) -> T:
    """:func:`run_mutation` of a mutation of a user's membership (audited on the User), with its membership event."""
    event = MEMBERSHIP_EVENTS[action]
    return await run_mutation(ctx, action=action, object_type="User", work=work, object_id=object_id, event=event)


strawberry.enum(
    UserStatus,
    description="An invited user has not set a password yet; an active one may sign in; a deactivated one may not",
)


def services_of(ctx: Any) -> IdentityServices:
    """The identity services of the request's runtime."""
    return identity_services(ctx.service)


def request_address(ctx: Any) -> str:
    """The client address of the request (``X-Forwarded-For`` first hop only behind a trusted proxy)."""
    request = getattr(ctx, "request", None) or ctx.extra.get("request")
    if request is None:
        return UNKNOWN_ADDRESS
    peer = request.client.host if request.client is not None else None
    return client_address(peer, request.headers, getattr(ctx.settings, "trusted_proxies", ("127.0.0.1", "::1")))


async def announce(ctx: Any, reason: str, **detail: str | None) -> None:
    """Publish an auth invalidation (after the change committed)."""
    await services_of(ctx).invalidator.publish(reason, **detail)


@strawberry.type(description="A policy (object:action) held by a role of the active tenant")
class PolicyGrant:
    role: str
    policy: str


@strawberry.type(description="What signing out revoked")
class LogoutPayload:
    revoked_sessions: int = strawberry.field(description="How many sessions were revoked (0: already signed out)")


@strawberry.type(description="An account's new status")
class UserStatusChange:
    user_id: strawberry.ID
    status: UserStatus
    revoked_sessions: int = strawberry.field(description="Sessions ended by a deactivation")


def _grant_view(grant: policies.Grant) -> PolicyGrant:
    return PolicyGrant(role=grant.role, policy=grant.policy)


@strawberry.type
class AuthQuery:
    @strawberry.field(
        description="The policy grants of the active tenant, by role (Admins); the catalogue is knownPolicies",
        directives=[RequiresScopes(scopes=IDENTITY_ADMIN)],
    )
    async def policies(self, info: Info) -> list[PolicyGrant]:
        ctx = info.context
        tenant_id = ctx.caller.require_role(ADMIN)
        rules = await policies.tenant_rules(ctx.session, tenant_id)
        return [_grant_view(grant) for grant in policies.grants_of(rules)]

    @strawberry.field(description="Every policy a role may be granted", directives=[Authenticated()])
    def known_policies(self, info: Info) -> list[str]:
        info.context.caller.require_user()
        return sorted(policies.KNOWN_POLICIES)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(
        description="Sign out: revoke this session (its refresh token and access tokens stop working)",
        directives=[Authenticated()],
    )
    async def logout(self, info: Info) -> LogoutPayload:
        return await _logout(info, everywhere=False)

    @strawberry.mutation(description="Sign out of every session of your account", directives=[Authenticated()])
    async def logout_everywhere(self, info: Info) -> LogoutPayload:
        return await _logout(info, everywhere=True)

    @strawberry.mutation(
        description="Let a role of the active tenant do a policy, e.g. Manager passport:publish (Admins)",
        directives=[RequiresScopes(scopes=IDENTITY_ADMIN)],
    )
    async def grant_policy(self, info: Info, role: str, policy: str) -> PolicyGrant:
        return await _change_policy(info, role, policy, grant=True)

    @strawberry.mutation(
        description="Withdraw a policy from a role of the active tenant (Admins)",
        directives=[RequiresScopes(scopes=IDENTITY_ADMIN)],
    )
    async def revoke_policy(self, info: Info, role: str, policy: str) -> PolicyGrant:
        return await _change_policy(info, role, policy, grant=False)

    @strawberry.mutation(
        description="Remove a member from the active tenant; their access there ends at once (Admins)",
        directives=[RequiresScopes(scopes=IDENTITY_ADMIN)],
    )
    async def remove_member(self, info: Info, user_id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        tenant_id = ctx.caller.require_role(ADMIN)

        async def work(record: AuditRecord) -> str:
            held, user = await domain.remove_member(IdentityRepository(ctx.session), str(user_id))
            record.before = {"email": user.email, "roles": held}
            return user.id

        removed = await change_membership(ctx, "removeMember", work, str(user_id))
        await announce(ctx, "membership", tenantId=tenant_id, userId=removed)
        return strawberry.ID(removed)

    @strawberry.mutation(
        description="Deactivate (ending every session) or reactivate an account (platform administrators)",
        directives=[Authenticated()],
    )
    async def set_user_status(self, info: Info, user_id: strawberry.ID, status: UserStatus) -> UserStatusChange:
        ctx = info.context
        ctx.caller.require_platform_admin()

        async def work(record: AuditRecord) -> str:
            previous, user = await domain.set_user_status(IdentityRepository(ctx.session), str(user_id), status)
            record.before = {"status": previous}
            record.after = {"status": user.status}
            return user.id

        changed = await run_mutation(ctx, action="setUserStatus", object_type="User", work=work, object_id=str(user_id))
        revoked = 0
        if status == UserStatus.DEACTIVATED:
            revoked = await services_of(ctx).sessions.revoke_user(changed, USER_DEACTIVATED)
        await announce(ctx, "user", userId=changed)
        return UserStatusChange(user_id=strawberry.ID(changed), status=status, revoked_sessions=revoked)


async def _logout(info: Info, *, everywhere: bool) -> LogoutPayload:
    ctx = info.context
    caller = ctx.caller
    user_id = caller.require_user()
    session_id = getattr(caller, "session_id", None)

    async def work(record: AuditRecord) -> int:
        count = await signin.logout(services_of(ctx), user_id, session_id, everywhere=everywhere)
        record.after = {"revokedSessions": count, "everywhere": everywhere}
        return count

    action = "logoutEverywhere" if everywhere else "logout"
    count = await run_mutation(
        ctx, action=action, object_type="Session", work=work, object_id=session_id, exclusive=False
    )
    return LogoutPayload(revoked_sessions=count)


async def _change_policy(info: Info, role: str, policy: str, *, grant: bool) -> PolicyGrant:
    ctx = info.context
    tenant_id = ctx.caller.require_role(ADMIN)
    change = policies.grant if grant else policies.revoke

    async def work(record: AuditRecord) -> policies.Grant:
        done = await change(ctx.session, tenant_id, role, policy)
        record.object_id = f"{done.role} {done.policy}"
        record.after = {"role": done.role, "policy": done.policy, "granted": grant}
        return done

    action = "grantPolicy" if grant else "revokePolicy"
    done = await run_mutation(ctx, action=action, object_type="Policy", work=work)
    await announce(ctx, "policy", tenantId=tenant_id)
    return _grant_view(done)
