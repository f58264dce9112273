"""Per-request dataloaders of the identity subgraph (one batched query per relation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiodataloader import DataLoader

from subgraphs.common.loaders import rows_by_column, rows_grouped_by
from subgraphs.identity.models import Membership, Role, Tenant, User
from subgraphs.identity.repository import MembershipRow, RoleRow, memberships_of_users, roles_of_members


def tenants_by_id(ctx: Any) -> DataLoader:
    """Tenant rows by id (``None`` when missing)."""
    return ctx.loader("identity.tenant", lambda: rows_by_column(ctx.session, Tenant, Tenant.id))


def users_by_id(ctx: Any) -> DataLoader:
    """User rows by id (``None`` when missing)."""
    return ctx.loader("identity.user", lambda: rows_by_column(ctx.session, User, User.id))


def members_by_user_id(ctx: Any) -> DataLoader:
    """The membership of each user in the caller's active tenant (``None`` when not a member)."""
    return ctx.loader("identity.member", lambda: rows_by_column(ctx.session, Membership, Membership.user_id))


def roles_by_tenant_id(ctx: Any) -> DataLoader:
    """Roles per tenant, by name; tenant scoping leaves only the active tenant's."""
    return ctx.loader(
        "identity.roles_of_tenant",
        lambda: rows_grouped_by(ctx.session, Role, Role.tenant_id, order_by=[Role.name]),
    )


def member_roles_by_user_id(ctx: Any) -> DataLoader:
    """The roles each user holds in the caller's active tenant."""

    async def batch(keys: Sequence[str]) -> list[list[RoleRow]]:
        found = await roles_of_members(ctx.session, keys)
        return [found.get(key, []) for key in keys]

    return ctx.loader("identity.member_roles", lambda: DataLoader(batch_load_fn=batch))


def own_memberships_by_user_id(ctx: Any) -> DataLoader:
    """Every membership (with roles) of a user across tenants: only ever asked for one's own user."""

    async def batch(keys: Sequence[str]) -> list[list[MembershipRow]]:
        found = await memberships_of_users(ctx.database, keys)
        return [found.get(key, []) for key in keys]

    return ctx.loader("identity.own_memberships", lambda: DataLoader(batch_load_fn=batch))
